#include "dataplane/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace dp {

HugepageInfo ReadHugepageInfo() {
  HugepageInfo h;
  std::ifstream nr("/proc/sys/vm/nr_hugepages");
  nr >> h.nr_hugepages;
  std::ifstream mi("/proc/meminfo");
  std::string line;
  uint64_t free_pages = 0, page_kb = 0;
  while (std::getline(mi, line)) {
    absl::string_view v = line;
    if (absl::ConsumePrefix(&v, "HugePages_Free:")) {
      absl::SimpleAtoi(absl::StripAsciiWhitespace(v), &free_pages);
    } else if (absl::ConsumePrefix(&v, "Hugepagesize:")) {
      v = absl::StripAsciiWhitespace(v);
      absl::ConsumeSuffix(&v, "kB");
      absl::SimpleAtoi(absl::StripAsciiWhitespace(v), &page_kb);
    }
  }
  h.free_bytes = free_pages * page_kb * 1024;
  return h;
}

int CountLcores(const std::string& list) {
  int n = 0;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> r =
        absl::StrSplit(part, absl::MaxSplits('-', 1));
    int a, b;
    if (!absl::SimpleAtoi(r.first, &a)) return 0;
    if (r.second.empty()) {
      ++n;
    } else {
      if (!absl::SimpleAtoi(r.second, &b) || b < a) return 0;
      n += b - a + 1;
    }
  }
  return n;
}

std::vector<std::string> BuildEalArgs(const Config& cfg, const HugepageInfo& huge, int pid,
                                      bool* use_huge) {
  std::vector<std::string> a = {"sstp-dataplane"};
  a.push_back("--lcores");
  a.push_back(cfg.lcores);
  a.push_back("--file-prefix");
  a.push_back(cfg.file_prefix.empty() ? absl::StrCat("sstp-dp-", pid) : cfg.file_prefix);
  bool huge_ok = huge.nr_hugepages > 0 && huge.free_bytes >= uint64_t{cfg.memory_mb} << 20;
  *use_huge = cfg.huge == HugeMode::kOn || (cfg.huge == HugeMode::kAuto && huge_ok);
  // Hugepage files are unlinked right after mapping so that nothing is left behind when the
  // process dies (no multi-process secondaries attach to us).
  a.push_back(*use_huge ? "--huge-unlink" : "--no-huge");
  a.push_back("-m");
  a.push_back(absl::StrCat(cfg.memory_mb));
  bool any_pci = false;
  int workers = CountLcores(cfg.lcores);
  for (const PortConfig& p : cfg.ports) {
    if (p.devargs.empty()) continue;
    if (absl::StartsWith(p.devargs, "net_")) {
      std::string dev = p.devargs;
      // af_packet: one queue pair per worker (the kernel spreads flows with PACKET_FANOUT) so that
      // every worker has its own TX queue.
      if (absl::StartsWith(dev, "net_af_packet") && !absl::StrContains(dev, "qpairs=") &&
          workers > 1) {
        absl::StrAppend(&dev, ",qpairs=", workers);
      }
      a.push_back("--vdev");
      a.push_back(dev);
    } else {
      any_pci = true;
      a.push_back("-a");
      a.push_back(p.devargs);
    }
  }
  if (!any_pci) a.push_back("--no-pci");
  if (!cfg.verbose) a.push_back("--log-level=notice");
  for (const std::string& e : cfg.eal_args) a.push_back(e);
  return a;
}

absl::Status EalInit(const Config& cfg) {
  bool use_huge = false;
  HugepageInfo hi = ReadHugepageInfo();
  std::vector<std::string> args = BuildEalArgs(cfg, hi, getpid(), &use_huge);
  if (!use_huge && cfg.huge == HugeMode::kAuto) {
    fprintf(stderr,
            "sstp-dataplane: %s MiB of free hugepages, %u MiB wanted: running with --no-huge "
            "(scripts/hugepages sets some up)\n",
            std::to_string(hi.free_bytes >> 20).c_str(), cfg.memory_mb);
  }
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  if (cfg.verbose) {
    std::string line;
    for (const std::string& s : args) absl::StrAppend(&line, s, " ");
    fprintf(stderr, "sstp-dataplane: EAL %s\n", line.c_str());
  }
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    return absl::InternalError(
        absl::StrCat("EAL init failed: ", rte_strerror(rte_errno),
                     use_huge ? " (hugepages in use: try --huge off)" : "",
                     " (is another instance using the same --file-prefix?)"));
  }
  return absl::OkStatus();
}

}  // namespace dp
