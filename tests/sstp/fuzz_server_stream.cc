// libFuzzer target: the server's receive path. TLS plaintext goes through the stream assembler
// into ServerStateMachine, interleaved with authentication, local PPP frames and timer ticks.
// Everything the server sends must be a valid SSTP packet (fuzz_stream_harness.h).
#include <cstddef>
#include <cstdint>

#include "sstp/state_machine.h"
#include "tests/sstp/fuzz_stream_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sstp::ServerConfig config;
  config.cert_hash_sha256.fill(0x11);
  config.cert_hash_sha1.fill(0x22);
  sstp::Nonce nonce;
  nonce.fill(0x33);
  sstp_fuzz::CheckingSink sink;
  sstp::ServerStateMachine server(config, nonce, &sink);
  sstp_fuzz::RunStream(server, data, size, /*disconnect_op=*/false);
  return 0;
}
