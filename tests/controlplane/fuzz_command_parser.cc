// Fuzz target: the RouterOS command parser and the whole command executor. Each input line is a
// command run against one controller (so sequences build state); the input is also loaded as a
// configuration file.
#include <string>

#include "absl/strings/str_split.h"
#include "controlplane/cli.h"
#include "controlplane/controller.h"

namespace {

class NullSink : public cp::DownSink {
 public:
  bool Send(uint32_t, ring::MsgType, uint64_t, const ring::Message&) override { return true; }
  uint32_t n_lcores() const override { return 2; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8192) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  NullSink sink;
  cp::Controller c(&sink, {"/nonexistent-fuzz-files", "sstp"});
  c.AddPort("ether1", "00:30:4F:0B:7B:C1", 1500);
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  cp::MenuPath cwd;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    (void)cp::ParseCommand(line, cwd);
    cp::Controller::Result r = c.Execute(line, cwd, now);
    cwd = r.cwd;
    (void)cp::Complete(line, cwd, {"name", "password"}, {"a"});
  }
  // Whatever the commands built must export to a configuration that loads back identically.
  std::string exported = c.ExportConfig();
  cp::Controller again(&sink, {"/nonexistent-fuzz-files", "sstp"});
  again.AddPort("ether1", "00:30:4F:0B:7B:C1", 1500);
  if (!again.LoadConfig(exported, now).ok()) __builtin_trap();
  if (again.ExportConfig() != exported) __builtin_trap();
  (void)again.LoadConfig(text, now);
  return 0;
}
