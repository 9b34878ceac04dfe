// dataplane/sstp/rate.h: the per-session token-bucket policer (profile rate-limit=), scripted time.
#include "dataplane/sstp/rate.h"

#include <gtest/gtest.h>

namespace dp::srv {
namespace {

constexpr uint64_t kMs = 1'000'000;

TEST(TokenBucket, UnlimitedAdmitsEverything) {
  TokenBucket b;
  b.Configure(0, 0);
  EXPECT_FALSE(b.limited());
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(b.Admit(65535, 0));
}

TEST(TokenBucket, StartsFullWithHundredMillisecondsOfRate) {
  TokenBucket b;
  b.Configure(2'000'000, 5 * kMs);  // 2 Mbit/s: 25,000 bytes in 100 ms
  int passed = 0;
  while (b.Admit(1500, 5 * kMs)) ++passed;
  EXPECT_EQ(passed, 16);  // 24,000 bytes; the 17th would need 25,500
  EXPECT_TRUE(b.Admit(1000, 5 * kMs));
  EXPECT_FALSE(b.Admit(1, 5 * kMs));
}

TEST(TokenBucket, LowRatesStillPassTwoFullPackets) {
  TokenBucket b;
  b.Configure(64'000, 0);  // 800 bytes in 100 ms, below the 3,200-byte floor
  EXPECT_TRUE(b.Admit(1600, 0));
  EXPECT_TRUE(b.Admit(1600, 0));
  EXPECT_FALSE(b.Admit(1, 0));
}

TEST(TokenBucket, LongRunRateIsTheConfiguredRate) {
  // 1500-byte packets offered every 100 us (120 Mbit/s) for 10 s against 2 Mbit/s.
  TokenBucket b;
  b.Configure(2'000'000, 0);
  uint64_t admitted = 0;
  for (uint64_t t = 0; t <= 10'000 * kMs; t += 100'000) {
    if (b.Admit(1500, t)) admitted += 1500;
  }
  const uint64_t want = 2'000'000 / 8 * 10 + 25'000;  // rate x time + the initial bucket
  EXPECT_LE(admitted, want);
  EXPECT_GE(admitted, want - 1500);
}

TEST(TokenBucket, RefillsFromMicrosecondStepsAreNotRoundedAway) {
  // At 1 Mbit/s a microsecond is 1/8 byte: credit must accumulate across many tiny steps.
  TokenBucket b;
  b.Configure(1'000'000, 0);
  while (b.Admit(100, 0)) {
  }
  uint64_t admitted = 0;
  for (uint64_t t = 1000; t <= 1000 * kMs; t += 1000) {
    if (b.Admit(100, t)) admitted += 100;
  }
  EXPECT_GE(admitted, 1'000'000 / 8 - 200);
  EXPECT_LE(admitted, 1'000'000 / 8 + 12'500);
}

TEST(TokenBucket, IdleTimeFillsOnlyUpToTheDepth) {
  TokenBucket b;
  b.Configure(8'000'000, 0);  // depth 100,000 bytes
  while (b.Admit(1000, 0)) {
  }
  uint64_t burst = 0;
  const uint64_t later = 3600ull * 1000 * kMs;  // an hour idle
  while (b.Admit(1000, later)) burst += 1000;
  EXPECT_EQ(burst, 100'000u);
}

TEST(TokenBucket, TheHighestRatesDoNotOverflow) {
  TokenBucket b;
  b.Configure(~0ull, 0);
  EXPECT_EQ(b.rate_bps(), TokenBucket::kMaxRateBps);
  while (b.Admit(65535, 0)) {
  }
  uint64_t admitted = 0;
  for (uint64_t t = 10 * kMs; t <= 2000 * kMs; t += 10 * kMs) {
    while (b.Admit(65535, t)) admitted += 65535;
  }
  // 10 Gbit/s over 1.99 s = 2.4875 GB, give or take a packet per step.
  EXPECT_GE(admitted, 2'487'500'000ull - 200 * 65535ull);
  EXPECT_LE(admitted, 2'487'500'000ull + 200 * 65535ull);
}

}  // namespace
}  // namespace dp::srv
