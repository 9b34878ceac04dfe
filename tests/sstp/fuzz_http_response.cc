// libFuzzer target: the client's incremental HTTP response parser.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sstp/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = size_t{data[0]} + 1;
  sstp::HttpResponseParser parser(data[0] & 1 ? 512 : sstp::kDefaultMaxHeaderBytes);
  for (size_t pos = 1; pos < size;) {
    const size_t n = std::min(piece, size - pos);
    const sstp::HttpParse r = parser.Feed(absl::MakeConstSpan(data + pos, n));
    if (parser.consumed() > n) __builtin_trap();
    if (r == sstp::HttpParse::kComplete && parser.status_code() != 200) __builtin_trap();
    if (r != sstp::HttpParse::kNeedMore) break;
    pos += n;
  }
  return 0;
}
