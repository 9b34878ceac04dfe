// A server ppp::Session (MS-CHAPv2 and PAP allowed, IPCP/IPV6CP/BCP enabled, multilink on) fed
// arbitrary PPP frames: each frame is a 2-byte big-endian length prefix and the frame; a zero
// length advances time to the next deadline, and a 1-byte frame is a command: acknowledge the
// last Configure-Request the server sent for LCP, IPCP, IPV6CP or BCP (byte % 4), so the fuzzer
// reaches authentication and the NCPs without guessing our magic number.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

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

void Run(const uint8_t* data, size_t size, std::vector<ppp::AuthMethod> methods) {
  Policy policy;
  ppp::SessionConfig c;
  c.role = ppp::SessionRole::kServer;
  c.policy = &policy;
  c.auth_methods = std::move(methods);
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
  // The last Configure-Request the server sent, per protocol: LCP, IPCP, IPV6CP, BCP.
  const uint16_t kProtocols[4] = {0xC021, 0x8021, 0x8057, 0x8031};
  std::vector<uint8_t> last_request[4];
  auto remember = [&] {
    for (auto& f : s.TakeOutput()) {
      if (f.size() < 8 || f[4] != 1) continue;  // FF 03 protocol, code 1 = Configure-Request
      uint16_t p = static_cast<uint16_t>(f[2] << 8 | f[3]);
      for (int i = 0; i < 4; ++i) {
        if (p == kProtocols[i]) last_request[i] = f;
      }
    }
  };
  remember();
  while (pos + 2 <= size && !s.terminated()) {
    size_t len = size_t{data[pos]} << 8 | data[pos + 1];
    pos += 2;
    if (len == 0) {
      if (auto d = s.NextDeadline()) now = *d;
      s.OnTimer(now);
    } else if (len == 1 && pos < size) {
      const std::vector<uint8_t>& r = last_request[data[pos++] % 4];
      if (!r.empty()) {
        std::vector<uint8_t> ack = r;
        ack[4] = 2;  // Configure-Ack with the same identifier and options
        s.ReceiveFrame(ack, now).IgnoreError();
      }
    } else {
      len = std::min(len, size - pos);
      s.ReceiveFrame(absl::MakeConstSpan(data + pos, len), now).IgnoreError();
      pos += len;
    }
    remember();
    s.TakeEvents();
    s.TakeDelivered();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // PAP alone lets scripted inputs get through authentication to the NCPs and data.
  Run(data, size, {ppp::AuthMethod::kPap});
  Run(data, size, {ppp::AuthMethod::kMsChapV2, ppp::AuthMethod::kPap});
  return 0;
}
