// Per-session rate limits (the PPP profile's rate-limit=, RouterOS "rx-rate[/tx-rate]" from the
// router's point of view: rx is what the client uploads, tx what it downloads). A token-bucket
// policer per direction, run on the session's owner lcore: no locks, no allocation, DPDK-free
// (unit-tested in tests/dataplane/rate_test.cc). Packets beyond the bucket are dropped (policing,
// not shaping: the data plane keeps no per-session delay queue for this).
#ifndef DATAPLANE_SSTP_RATE_H_
#define DATAPLANE_SSTP_RATE_H_

#include <algorithm>
#include <cstdint>

namespace dp::srv {

class TokenBucket {
 public:
  // Rates above this are treated as this (the product below stays within 64 bits).
  static constexpr uint64_t kMaxRateBps = 10'000'000'000ull;
  // The bucket holds this much time at the rate (so a TCP flow's bursts of about one window per
  // round trip pass), but never less than two full-size packets.
  static constexpr uint64_t kDepthNs = 100'000'000;  // 100 ms
  static constexpr uint64_t kMinDepthBytes = 2 * 1600;

  // rate_bps 0: unlimited. The bucket starts full.
  void Configure(uint64_t rate_bps, uint64_t now_ns) {
    rate_ = std::min(rate_bps, kMaxRateBps);
    const uint64_t depth_bytes = std::max(rate_ / 8 * kDepthNs / kNsPerS, kMinDepthBytes);
    depth_ = depth_bytes * 8 * kNsPerS;
    credit_ = depth_;
    last_ns_ = now_ns;
  }
  bool limited() const { return rate_ != 0; }
  uint64_t rate_bps() const { return rate_; }

  // True when `bytes` may pass now (and takes them from the bucket).
  bool Admit(uint32_t bytes, uint64_t now_ns) {
    if (rate_ == 0) return true;
    if (now_ns > last_ns_) {
      // Credit is kept in bit-nanoseconds-per-second units (bits x 1e9) so that refills between
      // packets microseconds apart are not rounded away. dt is capped at 1 s: with the rate cap,
      // dt x rate stays below 1e19 < 2^64.
      const uint64_t dt = std::min<uint64_t>(now_ns - last_ns_, kNsPerS);
      credit_ = std::min(depth_, credit_ + dt * rate_);
      last_ns_ = now_ns;
    }
    const uint64_t cost = uint64_t{bytes} * 8 * kNsPerS;
    if (credit_ < cost) return false;
    credit_ -= cost;
    return true;
  }

 private:
  static constexpr uint64_t kNsPerS = 1'000'000'000;
  uint64_t rate_ = 0;
  uint64_t depth_ = 0;
  uint64_t credit_ = 0;
  uint64_t last_ns_ = 0;
};

}  // namespace dp::srv

#endif  // DATAPLANE_SSTP_RATE_H_
