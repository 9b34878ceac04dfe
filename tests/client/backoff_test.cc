#include "client/backoff.h"

#include "gtest/gtest.h"

namespace client {
namespace {

TEST(BackoffTest, DoublesUpToTheMaximum) {
  Backoff b(absl::Seconds(1), absl::Seconds(60));
  absl::Duration ceilings[] = {absl::Seconds(1),  absl::Seconds(2),  absl::Seconds(4),
                               absl::Seconds(8),  absl::Seconds(16), absl::Seconds(32),
                               absl::Seconds(60), absl::Seconds(60)};
  for (absl::Duration c : ceilings) {
    EXPECT_EQ(b.Ceiling(), c);
    b.Next(0.5);
  }
  for (int i = 0; i < 100; ++i) b.Next(0.5);  // no overflow after many failures
  EXPECT_EQ(b.Ceiling(), absl::Seconds(60));
}

TEST(BackoffTest, JitterStaysInTheUpperHalf) {
  Backoff b(absl::Seconds(4), absl::Seconds(60));
  EXPECT_EQ(b.Next(0.0), absl::Seconds(2));
  b.Reset();
  EXPECT_EQ(b.Next(0.5), absl::Seconds(3));
  b.Reset();
  absl::Duration top = b.Next(0.9999999);
  EXPECT_LE(top, absl::Seconds(4));
  EXPECT_GT(top, absl::Milliseconds(3999));
  // Out-of-range draws are clamped rather than trusted.
  b.Reset();
  EXPECT_EQ(b.Next(-3), absl::Seconds(2));
  b.Reset();
  EXPECT_LE(b.Next(7), absl::Seconds(4));
}

TEST(BackoffTest, ResetAfterASuccessfulSession) {
  Backoff b(absl::Seconds(1), absl::Seconds(60));
  for (int i = 0; i < 5; ++i) b.Next(0.5);
  EXPECT_EQ(b.failures(), 5);
  b.Reset();
  EXPECT_EQ(b.failures(), 0);
  EXPECT_EQ(b.Ceiling(), absl::Seconds(1));
}

}  // namespace
}  // namespace client
