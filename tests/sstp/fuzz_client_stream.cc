// libFuzzer target: the client's receive path. Server bytes go through the stream assembler into
// ClientStateMachine, interleaved with authentication, local PPP frames, disconnects and timer
// ticks. Everything the client sends must be a valid SSTP packet.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sstp/state_machine.h"

namespace {

class CheckingSink : public sstp::Sink {
 public:
  void SendSstp(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) override {
    uint8_t buf[sstp::kMaxPacketSize];
    if (head.size() + tail.size() > sizeof(buf)) __builtin_trap();
    std::memcpy(buf, head.data(), head.size());
    if (!tail.empty()) std::memcpy(buf + head.size(), tail.data(), tail.size());
    if (!sstp::ParsePacket(absl::MakeConstSpan(buf, head.size() + tail.size())).ok()) {
      __builtin_trap();
    }
  }
  void DeliverPpp(absl::Span<const uint8_t> frame) override {
    if (frame.size() > sstp::kMaxDataPayload) __builtin_trap();
  }
  void OnEvent(const sstp::Event& event) override {
    if (closed_) __builtin_trap();  // nothing after kClosed
    if (event.type == sstp::EventType::kClosed) closed_ = true;
  }

 private:
  bool closed_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sstp::ClientConfig config;
  config.cert_hash_sha256.fill(0x11);
  CheckingSink sink;
  sstp::ClientStateMachine client(config, &sink);
  sstp::StreamAssembler assembler;
  absl::Time now = absl::FromUnixSeconds(1'790'000'000);
  client.Start(now);
  // Each step: an op byte (2 bits kind, 6 bits length/amount) then its bytes.
  size_t pos = 0;
  while (pos < size) {
    const uint8_t op = data[pos++];
    const size_t n = std::min<size_t>((op & 0x3F) + 1, size - pos);
    const absl::Span<const uint8_t> chunk(data + pos, n);
    switch (op >> 6) {
      case 0:
      case 1:
        (void)sstp::FeedStream(now, assembler, client, chunk);
        pos += n;
        break;
      case 2:
        client.OnAuthenticationFinished(now, sstp::ZeroHlak());
        (void)client.SendPppFrame(now, chunk);
        pos += n;
        break;
      case 3:
        if ((op & 0x3F) == 0x3F) {
          client.Disconnect(now, "fuzz");
        } else {
          now += absl::Seconds(op & 0x3F) * 2;
          client.OnTimer(now);
        }
        break;
    }
    if (client.next_deadline() < now - absl::Seconds(1)) __builtin_trap();  // overdue timer
  }
  return 0;
}
