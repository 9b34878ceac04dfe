// Per-lcore counters (see counters.def). Each worker increments its own copy with plain adds;
// readers on other threads (stats dump) take relaxed snapshots, which is good enough for
// monitoring and never slows the data path.
#ifndef DATAPLANE_COUNTERS_H_
#define DATAPLANE_COUNTERS_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace dp {

struct Counters {
#define DP_COUNTER(name, help) uint64_t name = 0;
#include "dataplane/counters.def"
#undef DP_COUNTER

  // Adds every field of `other` (relaxed atomic loads: `other` may be live on another lcore).
  void AddSnapshotOf(const Counters& other);
};

struct CounterInfo {
  const char* name;
  const char* help;
  size_t offset;
};

// The counter list in declaration order.
const CounterInfo* CounterList(size_t* count);

// "name value" lines for the non-zero counters, or all of them when `all` is set.
std::string FormatCounters(const Counters& c, bool all);
// A JSON object {"name": value, ...} with every counter.
std::string CountersJson(const Counters& c);

}  // namespace dp

#endif  // DATAPLANE_COUNTERS_H_
