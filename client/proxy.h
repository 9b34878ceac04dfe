// HTTP proxy tunnelling (RFC 9110 9.3.6 CONNECT) with Basic authentication (RFC 7617), so the
// client reaches an SSTP server through the proxies SSTP was designed to cross.
#ifndef CLIENT_PROXY_H_
#define CLIENT_PROXY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace client {

// A proxy reply header larger than this is refused (a real one is a few hundred bytes).
inline constexpr size_t kMaxProxyReplyHeader = 16384;

// "CONNECT host:port HTTP/1.1" with Host and, when `user` is not empty, Proxy-Authorization.
// `target` is already formatted as authority ("name:443", "[2001:db8::1]:443").
std::string BuildConnectRequest(absl::string_view target, absl::string_view user,
                                absl::string_view password);

struct ProxyReply {
  int status_code = 0;
  std::string reason;
  size_t header_length = 0;  // bytes up to and including the blank line
};

// Parses the proxy's reply at the start of `data`. Returns nullopt while the header is incomplete,
// an error for a malformed or oversized header, else the reply (any status code: the caller
// decides; see ProxyReplyStatus). Bytes after header_length belong to the tunnel.
absl::StatusOr<std::optional<ProxyReply>> ParseConnectReply(absl::Span<const uint8_t> data);

// OK for 2xx; otherwise an error a user can act on ("proxy requires authentication (407)").
absl::Status ProxyReplyStatus(const ProxyReply& reply);

}  // namespace client

#endif  // CLIENT_PROXY_H_
