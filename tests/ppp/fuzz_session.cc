// A server ppp::Session (MS-CHAPv2 and PAP allowed, IPCP/IPV6CP/BCP enabled, multilink on) fed
// arbitrary PPP frames: each frame is a 2-byte big-endian length prefix and the frame; a zero
// length advances time to the next deadline.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ppp/session.h"

namespace {

class Policy : public ppp::ServerPolicy {
 public:
  ppp::Credential LookupCredential(std::string_view user) override {
    return user == "alice" ? ppp::Credential::Found("s3cret") : ppp::Credential::NotFound();
  }
  Decision AssignNetwork(const ppp::AuthResult*) override {
    ppp::NetworkAssignment a;
    a.local_address = 0xC6120001;
    a.remote_address = 0xC612000A;
    a.primary_dns = 0xC6120035;
    return Decision::Assign(a);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Policy policy;
  ppp::SessionConfig c;
  c.role = ppp::SessionRole::kServer;
  c.policy = &policy;
  c.auth_methods = {ppp::AuthMethod::kMsChapV2, ppp::AuthMethod::kPap};
  c.enable_ipv6cp = c.enable_bcp = true;
  c.multilink = true;
  c.echo_interval = absl::Seconds(10);
  uint32_t n = 7;
  c.random = [&n](absl::Span<uint8_t> out) {
    for (uint8_t& b : out) b = static_cast<uint8_t>(n = n * 1103515245u + 12345u);
  };
  ppp::Session s(c);
  absl::Time now = absl::FromUnixSeconds(1000);
  s.Start(now);
  size_t pos = 0;
  while (pos + 2 <= size && !s.terminated()) {
    size_t len = size_t{data[pos]} << 8 | data[pos + 1];
    pos += 2;
    if (len == 0) {
      if (auto d = s.NextDeadline()) now = *d;
      s.OnTimer(now);
    } else {
      len = std::min(len, size - pos);
      s.ReceiveFrame(absl::MakeConstSpan(data + pos, len), now).IgnoreError();
      pos += len;
    }
    s.TakeOutput();
    s.TakeEvents();
    s.TakeDelivered();
  }
  return 0;
}
