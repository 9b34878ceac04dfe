// Drives an authenticator and a peer against each other with scripted time and a lossy wire.
#ifndef TESTS_PPP_AUTH_TEST_HARNESS_H_
#define TESTS_PPP_AUTH_TEST_HARNESS_H_

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ppp/auth.h"

namespace ppp::testing {

// Deterministic "random" bytes: 0x11, 0x12, ... so challenges are reproducible.
class ScriptedRandom {
 public:
  explicit ScriptedRandom(uint8_t start = 0x11) : next_(start) {}
  RandomSource Source() {
    return [this](absl::Span<uint8_t> out) {
      for (uint8_t& b : out) b = next_++;
    };
  }

 private:
  uint8_t next_;
};

// A table of users for the credential lookup. Records every name looked up.
struct UserTable {
  std::map<std::string, std::string> passwords;
  std::map<std::string, bool> disabled;
  std::vector<std::string> lookups;
  CredentialLookup Lookup() {
    return [this](std::string_view user) {
      lookups.emplace_back(user);
      std::string u(user);
      if (disabled.count(u)) return Credential::Disabled();
      auto it = passwords.find(u);
      if (it == passwords.end()) return Credential::NotFound();
      return Credential::Found(it->second);
    };
  }
};

enum class Dir { kToPeer, kToAuthenticator };

struct Harness {
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<Peer> peer;
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  // Called for each packet on the wire with its direction and its index in that direction
  // (0-based); returns true to drop it. May modify the packet (tampering).
  std::function<bool(Dir, int, std::vector<uint8_t>&)> wire;
  std::vector<std::vector<uint8_t>> to_peer, to_auth;  // everything sent, dropped or not
  std::vector<absl::Status> auth_errors, peer_errors;  // non-OK Receive() results

  void Pump() {
    for (int guard = 0; guard < 1000; ++guard) {
      bool moved = false;
      for (auto& p : auth->TakeOutput()) {
        moved = true;
        int idx = static_cast<int>(to_peer.size());
        to_peer.push_back(p);
        if (wire && wire(Dir::kToPeer, idx, p)) continue;
        if (absl::Status s = peer->Receive(p, now); !s.ok()) peer_errors.push_back(s);
      }
      for (auto& p : peer->TakeOutput()) {
        moved = true;
        int idx = static_cast<int>(to_auth.size());
        to_auth.push_back(p);
        if (wire && wire(Dir::kToAuthenticator, idx, p)) continue;
        if (absl::Status s = auth->Receive(p, now); !s.ok()) auth_errors.push_back(s);
      }
      if (!moved) return;
    }
    ADD_FAILURE() << "packets kept flowing";
  }

  void Start() {
    auth->Start(now);
    peer->Start(now);
    Pump();
  }

  // Advances time to the earliest deadline and fires timers. False when no timer is armed.
  bool Step() {
    std::optional<absl::Time> a = auth->NextDeadline(), p = peer->NextDeadline();
    if (!a && !p) return false;
    absl::Time t = a && p ? std::min(*a, *p) : (a ? *a : *p);
    EXPECT_GE(t, now);
    now = t;
    auth->OnTimer(now);
    peer->OnTimer(now);
    Pump();
    return true;
  }

  // Runs until both sides have a result (or no timers are left).
  void Run() {
    Start();
    for (int i = 0; i < 1000 && !(auth->result() && peer->result()); ++i) {
      if (!Step()) break;
    }
  }
};

}  // namespace ppp::testing

#endif  // TESTS_PPP_AUTH_TEST_HARNESS_H_
