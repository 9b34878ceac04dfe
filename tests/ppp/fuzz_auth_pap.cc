// PAP: the packet parser and both engines' receive paths (byte 0 bit 0: authenticator or peer;
// bit 1: a pending lookup ends with SupplyCredential or CompleteVerification).
#include <cstddef>
#include <cstdint>

#include "ppp/auth.h"
#include "ppp/pap.h"
#include "tests/ppp/auth_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ppp;
  if (size == 0) return 0;
  auto records = fuzzing::SplitRecords(data + 1, size - 1);
  for (const auto& r : records) {
    absl::StatusOr<PapPacket> p = ParsePapPacket(r.packet);
    if (p.ok()) {
      // Re-encoding what we parsed gives a packet that parses to the same fields.
      std::vector<uint8_t> again = p->code == PapCode::kAuthenticateRequest
                                       ? EncodePapRequest(p->identifier, p->peer_id, p->password)
                                       : EncodePapReply(p->code, p->identifier, p->message);
      absl::StatusOr<PapPacket> q = ParsePapPacket(again);
      if (!q.ok() || q->peer_id != p->peer_id || q->password != p->password ||
          q->message != p->message) {
        __builtin_trap();
      }
    }
  }
  if (data[0] & 1) {
    PeerConfig pc;
    pc.user = "bob";
    pc.password = "s3cret";
    pc.max_transmissions = 3;
    auto peer = MakePeer(AuthMethod::kPap, pc);
    if (!peer.ok()) __builtin_trap();
    fuzzing::Drive(**peer, records);
  } else {
    AuthenticatorConfig ac;
    ac.lookup = fuzzing::FuzzLookup;
    ac.max_transmissions = 3;
    auto auth = MakeAuthenticator(AuthMethod::kPap, ac);
    if (!auth.ok()) __builtin_trap();
    fuzzing::Drive(**auth, records);
    if (auto u = (*auth)->PendingLookup()) {
      if (data[0] & 2) {
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
