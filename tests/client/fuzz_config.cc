// libFuzzer target: the config file parser and the option parser behind it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "client/options.h"

namespace {
std::string* g_text;
absl::StatusOr<std::string> Read(const std::string&, bool* world_readable) {
  *world_readable = false;
  return *g_text;
}
std::optional<std::string> NoEnv(const char*) { return std::nullopt; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)client::ParseConfigText(text);
  g_text = &text;
  client::OptionSources src;
  src.args = {"--config", "/fuzz.conf"};
  src.getenv = NoEnv;
  src.read_file = Read;
  auto o = client::ParseOptions(src);
  if (o.ok()) {
    for (const auto& r : o->routes) (void)r.ToString();
    (void)o->connect_to.ToString();
  }
  return 0;
}
