// dataplane/sstp/bridge.h: the bridged sessions' MAC table (learning, lookup, aging, bounds).
#include "dataplane/sstp/bridge.h"

#include <gtest/gtest.h>

#include <array>

namespace dp::srv {
namespace {

constexpr uint64_t kS = 1'000'000'000;

std::array<uint8_t, 6> Mac(uint32_t n) {
  return {0x02, 0x00, uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
}

TEST(MacTable, LearnsAndFindsTheSession) {
  MacTable t(16);
  auto a = Mac(1), b = Mac(2);
  EXPECT_EQ(t.Lookup(a.data(), 0), 0u);
  t.Learn(a.data(), 7, 0);
  t.Learn(b.data(), 9, 0);
  EXPECT_EQ(t.Lookup(a.data(), kS), 7u);
  EXPECT_EQ(t.Lookup(b.data(), kS), 9u);
  t.Learn(a.data(), 11, 2 * kS);  // the station moved to another session
  EXPECT_EQ(t.Lookup(a.data(), 2 * kS), 11u);
}

TEST(MacTable, GroupAddressesAreNeverLearnedNorFound) {
  MacTable t(16);
  const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
  t.Learn(bcast, 3, 0);
  t.Learn(mcast, 3, 0);
  EXPECT_EQ(t.Lookup(bcast, 0), 0u);
  EXPECT_EQ(t.Lookup(mcast, 0), 0u);
}

TEST(MacTable, EntriesAgeOutAfterThreeHundredSecondsUnlessRefreshed) {
  MacTable t(16);
  auto a = Mac(1), b = Mac(2);
  t.Learn(a.data(), 5, 0);
  t.Learn(b.data(), 6, 0);
  t.Learn(b.data(), 6, 200 * kS);
  EXPECT_EQ(t.Lookup(a.data(), 299 * kS), 5u);
  EXPECT_EQ(t.Lookup(a.data(), 300 * kS), 0u);
  EXPECT_EQ(t.Lookup(b.data(), 300 * kS), 6u);
}

TEST(MacTable, ForgetSessionDropsItsStations) {
  MacTable t(16);
  auto a = Mac(1), b = Mac(2), c = Mac(3);
  t.Learn(a.data(), 5, 0);
  t.Learn(b.data(), 5, 0);
  t.Learn(c.data(), 6, 0);
  t.ForgetSession(5);
  EXPECT_EQ(t.Lookup(a.data(), 0), 0u);
  EXPECT_EQ(t.Lookup(b.data(), 0), 0u);
  EXPECT_EQ(t.Lookup(c.data(), 0), 6u);
  t.Learn(a.data(), 6, 0);  // relearned into a freed slot, found once
  EXPECT_EQ(t.Lookup(a.data(), 0), 6u);
}

TEST(MacTable, BoundedTheOldestOfAFullSetIsReplaced) {
  MacTable t(4);  // 16 entries
  EXPECT_EQ(t.capacity(), 16u);
  for (uint32_t i = 0; i < 10000; ++i) t.Learn(Mac(i).data(), i + 1, i);
  // The most recent stations are all there; at most the capacity is remembered.
  int found = 0;
  for (uint32_t i = 0; i < 10000; ++i) found += t.Lookup(Mac(i).data(), 10000) == i + 1;
  EXPECT_LE(found, 16);
  EXPECT_EQ(t.Lookup(Mac(9999).data(), 10000), 10000u);
  // A refreshed entry survives newer ones in its set.
  MacTable u(1);  // one set of 4
  for (uint32_t i = 0; i < 4; ++i) u.Learn(Mac(i).data(), i + 1, i);
  u.Learn(Mac(0).data(), 1, 10);      // refresh the oldest
  u.Learn(Mac(100).data(), 101, 11);  // evicts Mac(1), now the oldest
  EXPECT_EQ(u.Lookup(Mac(0).data(), 12), 1u);
  EXPECT_EQ(u.Lookup(Mac(1).data(), 12), 0u);
  EXPECT_EQ(u.Lookup(Mac(100).data(), 12), 101u);
}

}  // namespace
}  // namespace dp::srv
