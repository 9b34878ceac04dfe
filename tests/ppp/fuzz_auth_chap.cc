// CHAP: the packet parser, the MS-CHAP message parsers, and the authenticator's and the peer's
// receive paths for MD5, MS-CHAPv1 and MS-CHAPv2. Byte 0: bits 0-1 the algorithm (0 MD5,
// 1 MS-CHAPv1, 2-3 MS-CHAPv2), bit 2 the role (0 authenticator, 1 peer), bit 3 how a pending
// lookup ends (0 SupplyCredential, 1 CompleteVerification).
#include <cstddef>
#include <cstdint>
#include <string>

#include "ppp/auth.h"
#include "ppp/chap.h"
#include "ppp/mschap.h"
#include "tests/ppp/auth_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ppp;
  if (size == 0) return 0;
  static const AuthMethod kMethods[] = {AuthMethod::kChapMd5, AuthMethod::kMsChapV1,
                                        AuthMethod::kMsChapV2, AuthMethod::kMsChapV2};
  AuthMethod method = kMethods[data[0] & 3];
  bool peer_role = data[0] & 4;
  auto records = fuzzing::SplitRecords(data + 1, size - 1);
  for (const auto& r : records) {
    absl::StatusOr<ChapPacket> p = ParseChapPacket(r.packet);
    if (!p.ok()) continue;
    if (p->code == ChapCode::kChallenge || p->code == ChapCode::kResponse) {
      (void)ParseMsChapV1ResponseValue(p->value);
      (void)ParseMsChapV2ResponseValue(p->value);
      std::vector<uint8_t> again =
          EncodeChapChallengeOrResponse(p->code, p->identifier, p->value, p->name);
      absl::StatusOr<ChapPacket> q = ParseChapPacket(again);
      if (!q.ok() || q->value != p->value || q->name != p->name) __builtin_trap();
    } else {
      (void)ParseMsChapFailure(p->message);
      (void)ParseMsChapV2Success(p->message);
    }
  }
  if (peer_role) {
    PeerConfig pc;
    pc.user = "bob";
    pc.password = "s3cret";
    pc.random = fuzzing::FixedRandom;
    pc.max_transmissions = 3;
    auto peer = MakePeer(method, pc);
    if (!peer.ok()) __builtin_trap();
    fuzzing::Drive(**peer, records);
  } else {
    AuthenticatorConfig ac;
    ac.lookup = fuzzing::FuzzLookup;
    ac.random = fuzzing::FixedRandom;
    ac.max_transmissions = 3;
    auto auth = MakeAuthenticator(method, ac);
    if (!auth.ok()) __builtin_trap();
    fuzzing::Drive(**auth, records);
    if (auto u = (*auth)->PendingLookup()) {
      if (data[0] & 8) {
        // The external-verifier path (RADIUS later).
        ExternalVerdict v;
        v.success = (*auth)->PendingRequest()->user.size() % 2 == 0;
        v.authenticator_response = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
        (void)(*auth)->CompleteVerification(v, absl::UnixEpoch());
      } else {
        (void)(*auth)->SupplyCredential(*u, Credential::Found("s3cret"), absl::UnixEpoch());
      }
    }
  }
  return 0;
}
