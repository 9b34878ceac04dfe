// Reconnect pacing: exponential backoff with jitter. After each failure the ceiling doubles from
// `min` up to `max`; the delay is drawn from [ceiling/2, ceiling] ("equal jitter") so that many
// clients cut off by the same server restart do not come back in lock step, yet none retries
// immediately. A session that reached `connected` resets the ceiling.
#ifndef CLIENT_BACKOFF_H_
#define CLIENT_BACKOFF_H_

#include "absl/time/time.h"

namespace client {

class Backoff {
 public:
  Backoff(absl::Duration min, absl::Duration max) : min_(min), max_(max) {}

  // The delay before the next attempt. `unit_random` is uniform in [0, 1); the caller draws it
  // (absl::Uniform in the program, fixed values in tests).
  absl::Duration Next(double unit_random);
  // The ceiling the next call would draw from.
  absl::Duration Ceiling() const;
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  absl::Duration min_;
  absl::Duration max_;
  int failures_ = 0;
};

}  // namespace client

#endif  // CLIENT_BACKOFF_H_
