// libFuzzer target: ParsePacket on one packet, and re-encoding what parsed must parse again.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sstp/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sstp::ParseError error;
  absl::StatusOr<sstp::Packet> p = sstp::ParsePacket(absl::MakeConstSpan(data, size), &error);
  if (!p.ok()) {
    // The Status Info we would send about it must itself be valid.
    const sstp::ControlPacket abort = sstp::EncodeCallAbort(error.attribute, error.status);
    if (!sstp::ParsePacket(abort.span()).ok()) __builtin_trap();
    return 0;
  }
  if (!p->control) {
    if (p->data.size() + sstp::kHeaderSize != size) __builtin_trap();
    return 0;
  }
  const sstp::ControlMessage& m = p->message;
  sstp::ControlPacket again;
  switch (m.type) {
    case sstp::MessageType::kCallConnectRequest:
      again = sstp::EncodeCallConnectRequest(*m.encapsulated_protocol);
      break;
    case sstp::MessageType::kCallConnectAck:
      again = sstp::EncodeCallConnectAck(m.crypto_binding_request->hash_protocol_bitmask,
                                         m.crypto_binding_request->nonce);
      break;
    case sstp::MessageType::kCallConnected:
      again = sstp::EncodeCallConnected(*m.crypto_binding);
      break;
    case sstp::MessageType::kCallConnectNak:
      again = sstp::EncodeCallConnectNak(m.status_infos[0].attrib_id, m.status_infos[0].status,
                                         m.status_infos[0].attrib_value());
      break;
    default:
      again = sstp::EncodeEchoRequest();
      break;
  }
  if (!sstp::ParsePacket(again.span()).ok()) __builtin_trap();
  return 0;
}
