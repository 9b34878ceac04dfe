// IPCP, IPV6CP and BCP option parsing in both roles: arbitrary packets split by a 1-byte length.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ppp/bcp.h"
#include "ppp/ipcp.h"
#include "ppp/ipv6cp.h"

namespace {

void Drive(ppp::Fsm& fsm, absl::Span<const uint8_t> in) {
  absl::Time now = absl::FromUnixSeconds(1000);
  fsm.Up(now);
  fsm.Open(now);
  size_t pos = 0;
  while (pos < in.size()) {
    size_t n = in[pos++];
    if (n == 0) {
      if (auto d = fsm.NextDeadline()) now = *d;
      fsm.OnTimer(now);
      continue;
    }
    n = std::min(n, in.size() - pos);
    fsm.Receive(in.subspan(pos, n), now).IgnoreError();
    pos += n;
    fsm.TakeOutput();
    fsm.TakeEvents();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::Span<const uint8_t> in(data, size);
  ppp::IpcpConfig server;
  server.server = true;
  server.local_address = 0xC6120001;
  server.remote_address = 0xC612000A;
  server.primary_dns = 0xC6120035;
  ppp::Ipcp s(server);
  Drive(s, in);
  ppp::Ipcp c(ppp::IpcpConfig{});
  Drive(c, in);
  uint64_t n = 1;
  ppp::Ipv6cpConfig v6;
  v6.random64 = [&n] { return n++; };
  ppp::Ipv6cp v(v6);
  Drive(v, in);
  ppp::BcpConfig bc;
  bc.local_mac = ppp::MacAddress{2, 0, 0, 0, 0, 1};
  bc.remote_mac = ppp::MacAddress{2, 0, 0, 0, 0, 2};
  ppp::Bcp b(bc);
  Drive(b, in);
  return 0;
}
