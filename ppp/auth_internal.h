// Small helpers shared by the authentication sources (not part of the API).
#ifndef PPP_AUTH_INTERNAL_H_
#define PPP_AUTH_INTERNAL_H_

#include <cstdint>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ppp::auth_internal {

// Debian's Abseil has its own string_view type; StrCat and friends need it.
inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

inline absl::Span<const uint8_t> Bytes(std::string_view s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace ppp::auth_internal

#endif  // PPP_AUTH_INTERNAL_H_
