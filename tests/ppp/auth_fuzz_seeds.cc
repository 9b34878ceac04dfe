// Writes the seed corpora of fuzz_auth_pap and fuzz_auth_chap: real exchanges between this
// library's peer and authenticator, with the fuzzers' fixed random source and user table, in the
// record format of auth_fuzz_util.h. Not part of the build; run by hand after a format change:
//   g++ -std=c++20 -I. tests/ppp/auth_fuzz_seeds.cc build-pppauth/ppp/libppp.a \
//     $(pkg-config --cflags --libs absl_status absl_statusor absl_strings absl_str_format \
//     absl_time openssl) -o /tmp/auth_fuzz_seeds && /tmp/auth_fuzz_seeds tests/ppp/corpus
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "ppp/auth.h"
#include "ppp/chap.h"
#include "ppp/pap.h"
#include "tests/ppp/auth_fuzz_util.h"

namespace {

using namespace ppp;
using Packets = std::vector<std::vector<uint8_t>>;

struct Exchange {
  Packets to_peer, to_auth;
};

// Runs peer and authenticator against each other until nothing moves, without timers.
Exchange Run(AuthMethod m, const std::string& user, const std::string& password) {
  AuthenticatorConfig ac;
  ac.lookup = fuzzing::FuzzLookup;
  ac.random = fuzzing::FixedRandom;
  ac.max_transmissions = 3;
  PeerConfig pc;
  pc.user = user;
  pc.password = password;
  pc.random = fuzzing::FixedRandom;
  pc.max_transmissions = 3;
  auto auth = *MakeAuthenticator(m, ac);
  auto peer = *MakePeer(m, pc);
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  Exchange e;
  auth->Start(now);
  peer->Start(now);
  for (int i = 0; i < 10; ++i) {
    for (auto& p : auth->TakeOutput()) {
      e.to_peer.push_back(p);
      (void)peer->Receive(p, now);
    }
    for (auto& p : peer->TakeOutput()) {
      e.to_auth.push_back(p);
      (void)auth->Receive(p, now);
    }
  }
  return e;
}

void Write(const std::string& dir, const std::string& name, uint8_t selector,
           const Packets& packets, bool timer_first = false) {
  std::string bytes(1, static_cast<char>(selector));
  bool first = true;
  for (const auto& p : packets) {
    bytes.push_back(static_cast<char>(first && timer_first ? 1 : 0));
    first = false;
    bytes.push_back(static_cast<char>(p.size() >> 8));
    bytes.push_back(static_cast<char>(p.size()));
    bytes.append(p.begin(), p.end());
  }
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s tests/ppp/corpus\n", argv[0]);
    return 2;
  }
  std::string root = argv[1];
  std::string pap = root + "/auth_pap", chap = root + "/auth_chap";

  Exchange ok = Run(AuthMethod::kPap, "bob", "s3cret");
  Exchange bad = Run(AuthMethod::kPap, "bob", "wrong");
  Exchange utf = Run(AuthMethod::kPap, "jürgen", "pässwörd€😀");
  Write(pap, "authenticator_request", 0, ok.to_auth);
  Write(pap, "authenticator_wrong_password", 0, bad.to_auth);
  Write(pap, "authenticator_utf8", 0, utf.to_auth);
  Write(pap, "authenticator_async_user", 0, {EncodePapRequest(1, "async", "x")});
  Write(pap, "authenticator_repeated_request", 0,
        {ok.to_auth[0], EncodePapRequest(2, "bob", "s3cret")}, false);
  Write(pap, "peer_ack", 1, ok.to_peer);
  Write(pap, "peer_nak", 1, bad.to_peer);
  Write(pap, "peer_ack_after_retransmission", 1, {EncodePapReply(PapCode::kAuthenticateAck, 2, "")},
        true);

  const struct {
    AuthMethod m;
    uint8_t sel;
    const char* name;
  } methods[] = {{AuthMethod::kChapMd5, 0, "md5"},
                 {AuthMethod::kMsChapV1, 1, "mschap1"},
                 {AuthMethod::kMsChapV2, 2, "mschap2"}};
  for (const auto& mm : methods) {
    std::string n = mm.name;
    Exchange good = Run(mm.m, "bob", "s3cret");
    Exchange wrong = Run(mm.m, "bob", "wrong");
    Exchange disabled = Run(mm.m, "carol", "x");
    Exchange utf8 = Run(mm.m, "jürgen", "pässwörd€😀");
    Write(chap, n + "_authenticator_response", mm.sel, good.to_auth);
    Write(chap, n + "_authenticator_wrong_password", mm.sel, wrong.to_auth);
    Write(chap, n + "_authenticator_utf8", mm.sel, utf8.to_auth);
    Write(chap, n + "_authenticator_repeated_response", mm.sel, {good.to_auth[0], good.to_auth[0]});
    Write(chap, n + "_authenticator_after_timer", mm.sel, good.to_auth, true);
    Write(chap, n + "_peer_success", mm.sel | 4, good.to_peer);
    Write(chap, n + "_peer_failure", mm.sel | 4, wrong.to_peer);
    Write(chap, n + "_peer_disabled", mm.sel | 4, disabled.to_peer);
    Write(chap, n + "_peer_repeated_challenge", mm.sel | 4,
          {good.to_peer[0], good.to_peer[0], good.to_peer[1]});
  }
  return 0;
}
