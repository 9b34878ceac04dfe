#include "client/backoff.h"

#include <algorithm>

namespace client {

absl::Duration Backoff::Ceiling() const {
  absl::Duration c = min_;
  for (int i = 0; i < failures_ && c < max_; ++i) c *= 2;
  return std::min(c, max_);
}

absl::Duration Backoff::Next(double unit_random) {
  absl::Duration c = Ceiling();
  ++failures_;
  if (unit_random < 0) unit_random = 0;
  if (unit_random >= 1) unit_random = 0.999999;
  absl::Duration half = c / 2;
  return half + (c - half) * unit_random;
}

}  // namespace client
