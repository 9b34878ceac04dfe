#include "client/proxy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace client {

std::string BuildConnectRequest(absl::string_view target, absl::string_view user,
                                absl::string_view password) {
  std::string req = absl::StrCat("CONNECT ", target, " HTTP/1.1\r\nHost: ", target,
                                 "\r\nUser-Agent: sstp-client\r\n");
  if (!user.empty()) {
    // RFC 7617 2: base64(user-id ":" password).
    absl::StrAppend(&req, "Proxy-Authorization: Basic ",
                    absl::Base64Escape(absl::StrCat(user, ":", password)), "\r\n");
  }
  absl::StrAppend(&req, "\r\n");
  return req;
}

absl::StatusOr<std::optional<ProxyReply>> ParseConnectReply(absl::Span<const uint8_t> data) {
  absl::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  // Accept bare LF line ends as well: some proxies' error pages use them.
  size_t end = text.find("\r\n\r\n");
  size_t end_len = 4;
  size_t lf = text.find("\n\n");
  if (lf != absl::string_view::npos && (end == absl::string_view::npos || lf < end)) {
    end = lf;
    end_len = 2;
  }
  if (end == absl::string_view::npos) {
    if (data.size() > kMaxProxyReplyHeader) {
      return absl::InvalidArgumentError(
          absl::StrCat("proxy reply header longer than ", kMaxProxyReplyHeader, " bytes"));
    }
    // Reject garbage early rather than waiting for a header that never ends.
    if (!absl::StartsWith("HTTP/", text.substr(0, 5))) {
      return absl::InvalidArgumentError("proxy reply is not HTTP");
    }
    return std::nullopt;
  }
  if (end + end_len > kMaxProxyReplyHeader) {
    return absl::InvalidArgumentError(
        absl::StrCat("proxy reply header longer than ", kMaxProxyReplyHeader, " bytes"));
  }
  absl::string_view status_line = text.substr(0, text.find('\n'));
  absl::ConsumeSuffix(&status_line, "\r");
  // "HTTP/1.1 200 Connection established"
  if (!absl::StartsWith(status_line, "HTTP/1.") || status_line.size() < 12 ||
      status_line[8] != ' ') {
    return absl::InvalidArgumentError(absl::StrCat("proxy reply has a bad status line: \"",
                                                   absl::CHexEscape(status_line.substr(0, 80)),
                                                   "\""));
  }
  ProxyReply reply;
  absl::string_view code = status_line.substr(9, 3);
  if (!absl::ascii_isdigit(code[0]) || !absl::SimpleAtoi(code, &reply.status_code) ||
      reply.status_code < 100 || (status_line.size() > 12 && status_line[12] != ' ')) {
    return absl::InvalidArgumentError(absl::StrCat("proxy reply has a bad status code: \"",
                                                   absl::CHexEscape(status_line.substr(0, 80)),
                                                   "\""));
  }
  if (status_line.size() > 13) reply.reason = std::string(status_line.substr(13));
  reply.header_length = end + end_len;
  return reply;
}

absl::Status ProxyReplyStatus(const ProxyReply& reply) {
  if (reply.status_code >= 200 && reply.status_code < 300) return absl::OkStatus();
  std::string what = absl::StrCat(reply.status_code, " ", reply.reason);
  if (reply.status_code == 407 || reply.status_code == 401) {
    return absl::PermissionDeniedError(
        absl::StrCat("proxy requires authentication or refused the credentials (", what,
                     "): check --proxy-user and the proxy password"));
  }
  if (reply.status_code == 403) {
    return absl::PermissionDeniedError(
        absl::StrCat("proxy refused the CONNECT (", what, "): is the port allowed by the proxy?"));
  }
  return absl::UnavailableError(absl::StrCat("proxy CONNECT failed: ", what));
}

}  // namespace client
