// dp::TimerWheel: exact expiry ticks across levels, cancel, re-arm from the callback.
#include "dataplane/tcp/timer_wheel.h"

#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace dp {
namespace {

struct T {
  TimerNode node;
  uint64_t want = 0;
  uint64_t fired = 0;
};

TEST(TimerWheel, FiresAtExactTickAcrossLevels) {
  TimerWheel w(1000);
  std::mt19937_64 rng(42);
  std::vector<T> ts(2000);
  for (auto& t : ts) {
    uint64_t d = 1 + rng() % (1u << (8 * (1 + rng() % 3)));
    t.want = 1000 + d;
    w.Schedule(&t.node, t.want);
  }
  uint64_t now = 1000;
  while (w.pending() > 0) {
    now += 1 + rng() % 50;
    w.Advance(now, [&](TimerNode* n) {
      T* t = reinterpret_cast<T*>(n);
      t->fired = w.now();
    });
  }
  for (auto& t : ts) EXPECT_EQ(t.fired, t.want);
}

TEST(TimerWheel, CancelAndRearm) {
  TimerWheel w(0);
  T a, b;
  w.Schedule(&a.node, 10);
  w.Schedule(&b.node, 20);
  w.Cancel(&a.node);
  EXPECT_FALSE(a.node.armed());
  int fires = 0;
  w.Advance(100, [&](TimerNode* n) {
    ++fires;
    if (fires < 3) w.Schedule(n, w.now() + 5);  // periodic from the callback
  });
  EXPECT_EQ(fires, 3);
  EXPECT_EQ(a.fired, 0u);
}

TEST(TimerWheel, NextExpiryIsALowerBound) {
  TimerWheel w(5);
  EXPECT_EQ(w.NextExpiry(), UINT64_MAX);
  T a;
  w.Schedule(&a.node, 70000);
  uint64_t fired = 0;
  while (fired == 0) {
    uint64_t next = w.NextExpiry();
    ASSERT_LE(next, 70000u);
    w.Advance(next, [&](TimerNode*) { fired = w.now(); });
  }
  EXPECT_EQ(fired, 70000u);
}

TEST(TimerWheel, PastExpiryFiresNextTick) {
  TimerWheel w(100);
  T a;
  w.Schedule(&a.node, 50);
  uint64_t fired = 0;
  w.Advance(101, [&](TimerNode*) { fired = w.now(); });
  EXPECT_EQ(fired, 101u);
}

}  // namespace
}  // namespace dp
