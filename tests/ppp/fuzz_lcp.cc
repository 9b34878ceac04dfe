// LCP option parsing and the automaton: a server-role and a client-role LCP fed arbitrary packets
// (each input byte sequence is split into packets by a 1-byte length prefix), with timer steps.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ppp/lcp.h"

namespace {

void Drive(ppp::Lcp& lcp, absl::Span<const uint8_t> in) {
  absl::Time now = absl::FromUnixSeconds(1000);
  lcp.Up(now);
  lcp.Open(now);
  size_t pos = 0;
  while (pos < in.size()) {
    size_t n = in[pos++];
    if (n == 0) {  // a zero length means "let the restart timer fire"
      if (auto d = lcp.NextDeadline()) now = *d;
      lcp.OnTimer(now);
      continue;
    }
    n = std::min(n, in.size() - pos);
    lcp.Receive(in.subspan(pos, n), now).IgnoreError();
    pos += n;
    lcp.TakeOutput();
    lcp.TakeEvents();
    lcp.TakeProtocolRejects();
    if (lcp.state() == ppp::FsmState::kOpened) lcp.SendEchoRequest();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::Span<const uint8_t> in(data, size);
  uint32_t n = 1;
  ppp::LcpConfig server;
  server.authenticator = true;
  server.auth_methods = {ppp::AuthMethod::kMsChapV2, ppp::AuthMethod::kPap};
  server.random32 = [&n] { return n++; };
  server.multilink = size % 2 == 0;
  ppp::Lcp s(server);
  Drive(s, in);
  ppp::LcpConfig client;
  client.auth_methods = {ppp::AuthMethod::kChapMd5};
  client.random32 = [&n] { return n++; };
  ppp::Lcp c(client);
  Drive(c, in);
  return 0;
}
