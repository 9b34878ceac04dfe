// libFuzzer target: the data plane's config file parser (dataplane/config.cc) must never crash on
// any input, and whatever it accepts must pass or fail Validate() cleanly.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dataplane/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (text.find("config") != std::string::npos) return 0;  // no file reads from the fuzzer
  dp::Config cfg;
  if (dp::ParseConfigText(text, &cfg).ok()) {
    (void)dp::Validate(cfg);
    for (const dp::PortConfig& p : cfg.ports) {
      for (const dp::Ipv4Prefix& a : p.addresses) (void)dp::FormatIpv4(a.Network());
    }
  }
  return 0;
}
