// Built-in TCP test services on each worker's stack: echo (RFC 862), discard (RFC 863), chargen
// (RFC 864) on the ports of Config::services, and the client role (Config::connects): connect,
// send N bytes of the chargen stream, close. They let the stack be tested against real peers
// without TLS.
#ifndef DATAPLANE_SERVICES_H_
#define DATAPLANE_SERVICES_H_

#include <cstdint>

namespace dp {

struct Worker;

void ServicesStart(Worker* w);  // Listen on the worker's stack; worker 0 opens the --connects
void ServicesStop(Worker* w);
void ServicesFree(Worker* w);  // after the TCP stack is destroyed

// Byte `offset` of the chargen stream: 72-character lines of the 95 printable ASCII characters,
// each line starting one character later, ended by CR LF (RFC 864).
inline uint8_t ChargenByte(uint64_t offset) {
  const uint64_t line = offset / 74, col = offset % 74;
  if (col == 72) return '\r';
  if (col == 73) return '\n';
  return static_cast<uint8_t>(32 + (line + col) % 95);
}

}  // namespace dp

#endif  // DATAPLANE_SERVICES_H_
