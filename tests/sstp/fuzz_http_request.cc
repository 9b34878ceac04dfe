// libFuzzer target: the server's incremental HTTP request parser, fed in fuzzer-chosen pieces.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sstp/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: piece size (1..256) and header limit; the rest: the bytes from the client.
  const size_t piece = size_t{data[0]} + 1;
  sstp::HttpRequestParser parser(data[0] & 1 ? 512 : sstp::kDefaultMaxHeaderBytes);
  size_t pos = 1;
  while (pos < size) {
    const size_t n = std::min(piece, size - pos);
    const sstp::HttpParse r = parser.Feed(absl::MakeConstSpan(data + pos, n));
    if (parser.consumed() > n) __builtin_trap();
    if (r == sstp::HttpParse::kError) {
      if (parser.error_status() < 400 || parser.error_status() > 599) __builtin_trap();
      (void)sstp::BuildErrorReply(parser.error_status());
      break;
    }
    if (r == sstp::HttpParse::kComplete) {
      if (parser.method() != sstp::kSstpMethod) __builtin_trap();
      break;
    }
    pos += n;
  }
  return 0;
}
