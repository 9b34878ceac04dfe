// dp::tcp::Stack public API (tcp.h): thin wrappers over StackImpl.
#include "dataplane/tcp/tcp.h"

namespace dp::tcp {

const char* StateName(State s) {
  switch (s) {
    case State::kClosed:
      return "CLOSED";
    case State::kListen:
      return "LISTEN";
    case State::kSynSent:
      return "SYN-SENT";
    case State::kSynReceived:
      return "SYN-RECEIVED";
    case State::kEstablished:
      return "ESTABLISHED";
    case State::kFinWait1:
      return "FIN-WAIT-1";
    case State::kFinWait2:
      return "FIN-WAIT-2";
    case State::kCloseWait:
      return "CLOSE-WAIT";
    case State::kClosing:
      return "CLOSING";
    case State::kLastAck:
      return "LAST-ACK";
    case State::kTimeWait:
      return "TIME-WAIT";
  }
  return "?";
}

const char* CloseReasonName(CloseReason r) {
  switch (r) {
    case CloseReason::kNormal:
      return "normal";
    case CloseReason::kReset:
      return "reset";
    case CloseReason::kRefused:
      return "refused";
    case CloseReason::kTimeout:
      return "timeout";
    case CloseReason::kKeepaliveTimeout:
      return "keepalive-timeout";
    case CloseReason::kAborted:
      return "aborted";
    case CloseReason::kNoMemory:
      return "no-memory";
    case CloseReason::kShutdown:
      return "shutdown";
  }
  return "?";
}

}  // namespace dp::tcp
