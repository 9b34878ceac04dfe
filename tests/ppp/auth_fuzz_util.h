// Input format shared by the authentication fuzz targets, so seeds can script whole exchanges:
//   byte 0: selects the method/role variant
//   then records: flags (1 octet; bit 0: advance time by 3 s and fire timers first),
//                 length (2 octets, big endian), packet (length octets, cut at the end of input)
#ifndef TESTS_PPP_AUTH_FUZZ_UTIL_H_
#define TESTS_PPP_AUTH_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ppp/auth.h"

namespace ppp::fuzzing {

struct Record {
  bool fire_timer;
  absl::Span<const uint8_t> packet;
};

inline std::vector<Record> SplitRecords(const uint8_t* data, size_t size) {
  std::vector<Record> out;
  size_t i = 0;
  while (i + 3 <= size) {
    bool fire = data[i] & 1;
    size_t len = static_cast<size_t>(data[i + 1] << 8 | data[i + 2]);
    i += 3;
    if (len > size - i) len = size - i;
    out.push_back({fire, absl::Span<const uint8_t>(data + i, len)});
    i += len;
  }
  return out;
}

// Fixed "random" bytes: the fuzzer (and the seeds) can then predict Challenges and Identifiers.
inline void FixedRandom(absl::Span<uint8_t> out) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(0x11 + i);
}

inline Credential FuzzLookup(std::string_view user) {
  if (user == "bob") return Credential::Found("s3cret");
  if (user == "jürgen") return Credential::Found("pässwörd€😀");
  if (user == "carol") return Credential::Disabled();
  if (user == "async") return Credential::Pending();
  return Credential::NotFound();
}

// Feeds the records to `engine`, checking invariants every step.
inline void Drive(AuthEngine& engine, const std::vector<Record>& records) {
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  engine.Start(now);
  for (const Record& r : records) {
    if (r.fire_timer) {
      now += absl::Seconds(3);
      engine.OnTimer(now);
    }
    const AuthResult* before = engine.result();
    bool had = before != nullptr;
    bool success = had && before->success;
    (void)engine.Receive(r.packet, now);
    for (const auto& p : engine.TakeOutput()) {
      // Every packet we send must be one our own parser accepts.
      if (p.size() < 4 || static_cast<size_t>(p[2] << 8 | p[3]) != p.size()) __builtin_trap();
    }
    // A result never changes once it is there.
    if (had && (engine.result() == nullptr || engine.result()->success != success)) {
      __builtin_trap();
    }
    if (auto d = engine.NextDeadline(); d && *d < now) __builtin_trap();
  }
}

}  // namespace ppp::fuzzing

#endif  // TESTS_PPP_AUTH_FUZZ_UTIL_H_
