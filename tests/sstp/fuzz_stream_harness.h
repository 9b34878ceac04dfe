// The harness fuzz_client_stream.cc and fuzz_server_stream.cc share: a Sink that traps on
// anything a state machine must never do, and the op-byte interpreter that drives one machine.
#ifndef TESTS_SSTP_FUZZ_STREAM_HARNESS_H_
#define TESTS_SSTP_FUZZ_STREAM_HARNESS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sstp/state_machine.h"

namespace sstp_fuzz {

// Everything the machine sends must parse as an SSTP packet (MS-SSTP 2.2), every PPP frame it
// delivers must fit a data packet, and nothing may follow the kClosed event.
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

// Starts `machine` and runs the input as steps: an op byte (2 bits kind, 6 bits length/amount),
// then its bytes. Kinds 0 and 1: bytes from the peer through the stream assembler; 2: PPP
// authentication finished (zero HLAK) and a local PPP frame; 3: the clock advances 2*amount
// seconds and the timers run, except that amount 0x3F disconnects when `disconnect_op` is set
// (the client's Disconnect()). A timer overdue by more than a second traps.
template <typename M>
void RunStream(M& machine, const uint8_t* data, size_t size, bool disconnect_op) {
  sstp::StreamAssembler assembler;
  absl::Time now = absl::FromUnixSeconds(1'790'000'000);
  machine.Start(now);
  size_t pos = 0;
  while (pos < size) {
    const uint8_t op = data[pos++];
    const size_t n = std::min<size_t>((op & 0x3F) + 1, size - pos);
    const absl::Span<const uint8_t> chunk(data + pos, n);
    switch (op >> 6) {
      case 0:
      case 1:
        (void)sstp::FeedStream(now, assembler, machine, chunk);
        pos += n;
        break;
      case 2:
        machine.OnAuthenticationFinished(now, sstp::ZeroHlak());
        (void)machine.SendPppFrame(now, chunk);
        pos += n;
        break;
      case 3:
        if (disconnect_op && (op & 0x3F) == 0x3F) {
          machine.Disconnect(now, "fuzz");
        } else {
          now += absl::Seconds(op & 0x3F) * 2;
          machine.OnTimer(now);
        }
        break;
    }
    if (machine.next_deadline() < now - absl::Seconds(1)) __builtin_trap();  // overdue timer
  }
}

}  // namespace sstp_fuzz

#endif  // TESTS_SSTP_FUZZ_STREAM_HARNESS_H_
