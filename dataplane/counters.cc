#include "dataplane/counters.h"

#include "absl/strings/str_cat.h"

namespace dp {
namespace {

const CounterInfo kCounters[] = {
#define DP_COUNTER(name, help) {#name, help, offsetof(Counters, name)},
#include "dataplane/counters.def"
#undef DP_COUNTER
};

uint64_t Load(const Counters& c, size_t offset) {
  const auto* p = reinterpret_cast<const uint64_t*>(reinterpret_cast<const char*>(&c) + offset);
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}

}  // namespace

const CounterInfo* CounterList(size_t* count) {
  *count = sizeof(kCounters) / sizeof(kCounters[0]);
  return kCounters;
}

void Counters::AddSnapshotOf(const Counters& other) {
  for (const CounterInfo& ci : kCounters) {
    auto* p = reinterpret_cast<uint64_t*>(reinterpret_cast<char*>(this) + ci.offset);
    *p += Load(other, ci.offset);
  }
}

std::string FormatCounters(const Counters& c, bool all) {
  std::string out;
  for (const CounterInfo& ci : kCounters) {
    uint64_t v = Load(c, ci.offset);
    if (v != 0 || all) absl::StrAppend(&out, ci.name, " ", v, "\n");
  }
  return out;
}

std::string CountersJson(const Counters& c) {
  std::string out = "{";
  bool first = true;
  for (const CounterInfo& ci : kCounters) {
    absl::StrAppend(&out, first ? "" : ", ", "\"", ci.name, "\": ", Load(c, ci.offset));
    first = false;
  }
  out += "}";
  return out;
}

}  // namespace dp
