// libFuzzer target: the client's receive path. Server bytes go through the stream assembler into
// ClientStateMachine, interleaved with authentication, local PPP frames, disconnects and timer
// ticks. Everything the client sends must be a valid SSTP packet (fuzz_stream_harness.h).
#include <cstddef>
#include <cstdint>

#include "sstp/state_machine.h"
#include "tests/sstp/fuzz_stream_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sstp::ClientConfig config;
  config.cert_hash_sha256.fill(0x11);
  sstp_fuzz::CheckingSink sink;
  sstp::ClientStateMachine client(config, &sink);
  sstp_fuzz::RunStream(client, data, size, /*disconnect_op=*/true);
  return 0;
}
