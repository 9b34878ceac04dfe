// libFuzzer target: the HTTP proxy's CONNECT reply parser.
#include <cstddef>
#include <cstdint>

#include "client/proxy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = client::ParseConnectReply(absl::Span<const uint8_t>(data, size));
  if (r.ok() && r->has_value()) {
    if ((*r)->header_length > size) __builtin_trap();
    (void)client::ProxyReplyStatus(**r);
  }
  return 0;
}
