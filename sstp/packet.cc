#include "sstp/packet.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace sstp {
namespace {

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

absl::Status Invalid(ParseError* error, StatusCode status, AttributeId attr, std::string message) {
  if (error != nullptr) {
    error->status = status;
    error->attribute = attr;
  }
  return absl::InvalidArgumentError(std::move(message));
}

// Which attributes a message type may carry, and how many (MS-SSTP 2.2.9-2.2.15).
struct Rule {
  AttributeId allowed;  // the one attribute kind allowed (kNoError: none)
  uint16_t min_count;
  uint16_t max_count;  // 0xFFFF: unbounded
};

Rule RuleFor(MessageType t) {
  switch (t) {
    case MessageType::kCallConnectRequest:  // 2.2.9: exactly one Encapsulated Protocol ID
      return {AttributeId::kEncapsulatedProtocolId, 1, 1};
    case MessageType::kCallConnectAck:  // 2.2.10: exactly one Crypto Binding Request
      return {AttributeId::kCryptoBindingRequest, 1, 1};
    case MessageType::kCallConnectNak:  // 2.2.12: one or more Status Info, nothing else
      return {AttributeId::kStatusInfo, 1, 0xFFFF};
    case MessageType::kCallConnected:  // 2.2.11: exactly one Crypto Binding
      return {AttributeId::kCryptoBinding, 1, 1};
    case MessageType::kCallAbort:       // 2.2.13: SHOULD have one Status Info, nothing else
    case MessageType::kCallDisconnect:  // 2.2.14: Status Info only
      // We send exactly one; on receipt a peer's extra Status Infos are accepted (the message
      // ends the call either way), only other attributes are rejected.
      return {AttributeId::kStatusInfo, 0, 0xFFFF};
    case MessageType::kCallDisconnectAck:  // 2.2.15-2.2.17: no attributes
    case MessageType::kEchoRequest:
    case MessageType::kEchoResponse:
      return {AttributeId::kNoError, 0, 0};
  }
  return {AttributeId::kNoError, 0, 0};
}

bool KnownMessageType(uint16_t t) { return t >= 1 && t <= 9; }
bool KnownAttributeId(uint8_t id) { return id >= 1 && id <= 4; }

void WriteControlHeader(ControlPacket& p, MessageType type, size_t length, uint16_t num_attrs) {
  p.size = length;
  p.bytes[0] = kVersion;
  p.bytes[1] = 0x01;  // C = 1
  Put16(&p.bytes[2], static_cast<uint16_t>(length));
  Put16(&p.bytes[4], static_cast<uint16_t>(type));
  Put16(&p.bytes[6], num_attrs);
}

void WriteAttributeHeader(uint8_t* p, AttributeId id, size_t length) {
  p[0] = 0;
  p[1] = static_cast<uint8_t>(id);
  Put16(p + 2, static_cast<uint16_t>(length));
}

ControlPacket EncodeWithStatusInfo(MessageType type, AttributeId attrib_id, StatusCode status,
                                   absl::Span<const uint8_t> original) {
  ControlPacket p;
  const size_t value_len = std::min(original.size(), kStatusInfoMaxValue);
  const size_t attr_len = kStatusInfoMinLength + value_len;
  WriteControlHeader(p, type, kControlHeaderSize + attr_len, 1);
  uint8_t* a = &p.bytes[kControlHeaderSize];
  WriteAttributeHeader(a, AttributeId::kStatusInfo, attr_len);
  a[4] = a[5] = a[6] = 0;  // Reserved1
  a[7] = static_cast<uint8_t>(attrib_id);
  Put32(a + 8, static_cast<uint32_t>(status));
  if (value_len > 0) std::memcpy(a + 12, original.data(), value_len);
  return p;
}

ControlPacket EncodeBare(MessageType type) {
  ControlPacket p;
  WriteControlHeader(p, type, kControlHeaderSize, 0);
  return p;
}

}  // namespace

absl::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kCallConnectRequest:
      return "SSTP_MSG_CALL_CONNECT_REQUEST";
    case MessageType::kCallConnectAck:
      return "SSTP_MSG_CALL_CONNECT_ACK";
    case MessageType::kCallConnectNak:
      return "SSTP_MSG_CALL_CONNECT_NAK";
    case MessageType::kCallConnected:
      return "SSTP_MSG_CALL_CONNECTED";
    case MessageType::kCallAbort:
      return "SSTP_MSG_CALL_ABORT";
    case MessageType::kCallDisconnect:
      return "SSTP_MSG_CALL_DISCONNECT";
    case MessageType::kCallDisconnectAck:
      return "SSTP_MSG_CALL_DISCONNECT_ACK";
    case MessageType::kEchoRequest:
      return "SSTP_MSG_ECHO_REQUEST";
    case MessageType::kEchoResponse:
      return "SSTP_MSG_ECHO_RESPONSE";
  }
  return "SSTP_MSG_UNKNOWN";
}

absl::string_view AttributeIdName(AttributeId id) {
  switch (id) {
    case AttributeId::kNoError:
      return "SSTP_ATTRIB_NO_ERROR";
    case AttributeId::kEncapsulatedProtocolId:
      return "SSTP_ATTRIB_ENCAPSULATED_PROTOCOL_ID";
    case AttributeId::kStatusInfo:
      return "SSTP_ATTRIB_STATUS_INFO";
    case AttributeId::kCryptoBinding:
      return "SSTP_ATTRIB_CRYPTO_BINDING";
    case AttributeId::kCryptoBindingRequest:
      return "SSTP_ATTRIB_CRYPTO_BINDING_REQ";
  }
  return "SSTP_ATTRIB_UNKNOWN";
}

absl::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kNoError:
      return "ATTRIB_STATUS_NO_ERROR";
    case StatusCode::kDuplicateAttribute:
      return "ATTRIB_STATUS_DUPLICATE_ATTRIBUTE";
    case StatusCode::kUnrecognizedAttribute:
      return "ATTRIB_STATUS_UNRECOGNIZED_ATTRIBUTE";
    case StatusCode::kInvalidAttribValueLength:
      return "ATTRIB_STATUS_INVALID_ATTRIB_VALUE_LENGTH";
    case StatusCode::kValueNotSupported:
      return "ATTRIB_STATUS_VALUE_NOT_SUPPORTED";
    case StatusCode::kUnacceptedFrameReceived:
      return "ATTRIB_STATUS_UNACCEPTED_FRAME_RECEIVED";
    case StatusCode::kRetryCountExceeded:
      return "ATTRIB_STATUS_RETRY_COUNT_EXCEEDED";
    case StatusCode::kInvalidFrameReceived:
      return "ATTRIB_STATUS_INVALID_FRAME_RECEIVED";
    case StatusCode::kNegotiationTimeout:
      return "ATTRIB_STATUS_NEGOTIATION_TIMEOUT";
    case StatusCode::kAttribNotSupportedInMsg:
      return "ATTRIB_STATUS_ATTRIB_NOT_SUPPORTED_IN_MSG";
    case StatusCode::kRequiredAttributeMissing:
      return "ATTRIB_STATUS_REQUIRED_ATTRIBUTE_MISSING";
    case StatusCode::kStatusInfoNotSupportedInMsg:
      return "ATTRIB_STATUS_STATUS_INFO_NOT_SUPPORTED_IN_MSG";
  }
  return "ATTRIB_STATUS_UNKNOWN";
}

absl::StatusOr<Packet> ParsePacket(absl::Span<const uint8_t> bytes, ParseError* error) {
  if (bytes.size() < kHeaderSize) {
    return Invalid(
        error, StatusCode::kInvalidFrameReceived, AttributeId::kNoError,
        absl::StrFormat("SSTP packet of %d bytes is shorter than its 4-byte header", bytes.size()));
  }
  const uint8_t* p = bytes.data();
  if (p[0] != kVersion) {
    return Invalid(error, StatusCode::kInvalidFrameReceived, AttributeId::kNoError,
                   absl::StrFormat("SSTP version 0x%02x is not 0x10 (1.0)", p[0]));
  }
  const bool control = (p[1] & 0x01) != 0;
  const size_t length = ((p[2] & 0x0F) << 8) | p[3];
  if (length != bytes.size()) {
    return Invalid(error, StatusCode::kInvalidFrameReceived, AttributeId::kNoError,
                   absl::StrFormat("SSTP Length field %d does not match the %d bytes received",
                                   length, bytes.size()));
  }
  Packet out;
  out.control = control;
  if (!control) {
    out.data = bytes.subspan(kHeaderSize);
    return out;
  }
  if (length < kControlHeaderSize) {
    return Invalid(error, StatusCode::kInvalidFrameReceived, AttributeId::kNoError,
                   absl::StrFormat("SSTP control packet of %d bytes is shorter than 8", length));
  }
  const uint16_t type_raw = Get16(p + 4);
  if (!KnownMessageType(type_raw)) {
    return Invalid(error, StatusCode::kInvalidFrameReceived, AttributeId::kNoError,
                   absl::StrFormat("unknown SSTP message type 0x%04x", type_raw));
  }
  ControlMessage& m = out.message;
  m.type = static_cast<MessageType>(type_raw);
  m.num_attributes = Get16(p + 6);
  const Rule rule = RuleFor(m.type);
  const absl::string_view msg_name = MessageTypeName(m.type);

  size_t pos = kControlHeaderSize;
  uint16_t seen = 0;
  while (pos < length) {
    if (length - pos < kAttributeHeaderSize) {
      return Invalid(error, StatusCode::kInvalidFrameReceived, AttributeId::kNoError,
                     absl::StrFormat("%s: %d trailing bytes are too short for an attribute",
                                     msg_name, length - pos));
    }
    const uint8_t* a = p + pos;
    const uint8_t id_raw = a[1];
    const size_t alen = ((a[2] & 0x0F) << 8) | a[3];
    if (!KnownAttributeId(id_raw)) {
      // The Status Info's AttribID cannot name an unknown id (MS-SSTP 2.2.8 lists the valid
      // ones): the status alone says it.
      return Invalid(error, StatusCode::kUnrecognizedAttribute, AttributeId::kNoError,
                     absl::StrFormat("%s: unrecognized attribute id 0x%02x", msg_name, id_raw));
    }
    const AttributeId id = static_cast<AttributeId>(id_raw);
    if (alen < kAttributeHeaderSize || alen > length - pos) {
      return Invalid(error, StatusCode::kInvalidAttribValueLength, id,
                     absl::StrFormat("%s: %s length %d does not fit the %d bytes left", msg_name,
                                     AttributeIdName(id), alen, length - pos));
    }
    if (id != rule.allowed) {
      // MS-SSTP 3.3.5.2.2: a Status Info where none belongs is reported as
      // ATTRIB_STATUS_STATUS_INFO_NOT_SUPPORTED_IN_MSG, any other as ATTRIB_NOT_SUPPORTED_IN_MSG.
      return Invalid(error,
                     id == AttributeId::kStatusInfo ? StatusCode::kStatusInfoNotSupportedInMsg
                                                    : StatusCode::kAttribNotSupportedInMsg,
                     id, absl::StrFormat("%s may not carry %s", msg_name, AttributeIdName(id)));
    }
    if (seen >= rule.max_count) {
      return Invalid(error,
                     rule.max_count == 1 ? StatusCode::kDuplicateAttribute
                                         : StatusCode::kAttribNotSupportedInMsg,
                     id,
                     absl::StrFormat("%s carries more than %d %s", msg_name, rule.max_count,
                                     AttributeIdName(id)));
    }
    auto bad_length = [&](size_t want) {
      return Invalid(error, StatusCode::kInvalidAttribValueLength, id,
                     absl::StrFormat("%s: %s length is %d, must be %d", msg_name,
                                     AttributeIdName(id), alen, want));
    };
    switch (id) {
      case AttributeId::kEncapsulatedProtocolId:  // 2.2.5
        if (alen != kEncapsulatedProtocolIdLength) return bad_length(kEncapsulatedProtocolIdLength);
        m.encapsulated_protocol = Get16(a + 4);
        break;
      case AttributeId::kCryptoBindingRequest: {  // 2.2.6
        if (alen != kCryptoBindingRequestLength) return bad_length(kCryptoBindingRequestLength);
        CryptoBindingRequest r;
        r.hash_protocol_bitmask = a[7];
        std::memcpy(r.nonce.data(), a + 8, kNonceSize);
        m.crypto_binding_request = r;
        break;
      }
      case AttributeId::kCryptoBinding: {  // 2.2.7
        if (alen != kCryptoBindingLength) return bad_length(kCryptoBindingLength);
        CryptoBinding b;
        b.hash_protocol = a[7];
        std::memcpy(b.nonce.data(), a + 8, kNonceSize);
        std::memcpy(b.cert_hash.data(), a + 40, kHashFieldSize);
        std::memcpy(b.compound_mac.data(), a + 72, kHashFieldSize);
        m.crypto_binding = b;
        break;
      }
      case AttributeId::kStatusInfo: {  // 2.2.8: Length = AttribValue + 12
        if (alen < kStatusInfoMinLength) {
          return Invalid(error, StatusCode::kInvalidAttribValueLength, id,
                         absl::StrFormat("%s: Status Info length %d is below 12", msg_name, alen));
        }
        const uint8_t about = a[7];
        if (about > static_cast<uint8_t>(AttributeId::kCryptoBindingRequest)) {
          return Invalid(
              error, StatusCode::kValueNotSupported, id,
              absl::StrFormat("%s: Status Info about unknown attribute 0x%02x", msg_name, about));
        }
        const uint32_t status = Get32(a + 8);
        if (status > static_cast<uint32_t>(StatusCode::kStatusInfoNotSupportedInMsg)) {
          return Invalid(error, StatusCode::kValueNotSupported, id,
                         absl::StrFormat("%s: unknown Status 0x%08x", msg_name, status));
        }
        if (m.status_info_count < kMaxStatusInfos) {
          StatusInfo& s = m.status_infos[m.status_info_count++];
          s.attrib_id = static_cast<AttributeId>(about);
          s.status = static_cast<StatusCode>(status);
          // AttribValue echoes the refused attribute; a peer may echo one longer than we keep
          // (a 104-byte Crypto Binding): keep the first kStatusInfoMaxValue bytes.
          s.value_length =
              static_cast<uint8_t>(std::min(alen - kStatusInfoMinLength, kStatusInfoMaxValue));
          std::memcpy(s.value.data(), a + 12, s.value_length);
        }
        break;
      }
      case AttributeId::kNoError:
        break;
    }
    ++seen;
    pos += alen;
  }
  if (seen != m.num_attributes) {
    return Invalid(error, StatusCode::kInvalidFrameReceived, AttributeId::kNoError,
                   absl::StrFormat("%s: Num Attributes says %d but %d are present", msg_name,
                                   m.num_attributes, seen));
  }
  if (seen < rule.min_count) {
    return Invalid(
        error, StatusCode::kRequiredAttributeMissing, rule.allowed,
        absl::StrFormat("%s lacks its %s attribute", msg_name, AttributeIdName(rule.allowed)));
  }
  return out;
}

ControlPacket EncodeCallConnectRequest(uint16_t protocol) {
  ControlPacket p;
  WriteControlHeader(p, MessageType::kCallConnectRequest, kCallConnectRequestLength, 1);
  uint8_t* a = &p.bytes[kControlHeaderSize];
  WriteAttributeHeader(a, AttributeId::kEncapsulatedProtocolId, kEncapsulatedProtocolIdLength);
  Put16(a + 4, protocol);
  return p;
}

ControlPacket EncodeCallConnectAck(uint8_t hash_protocol_bitmask, const Nonce& nonce) {
  ControlPacket p;
  WriteControlHeader(p, MessageType::kCallConnectAck, kCallConnectAckLength, 1);
  uint8_t* a = &p.bytes[kControlHeaderSize];
  WriteAttributeHeader(a, AttributeId::kCryptoBindingRequest, kCryptoBindingRequestLength);
  a[7] = hash_protocol_bitmask;
  std::memcpy(a + 8, nonce.data(), kNonceSize);
  return p;
}

ControlPacket EncodeCallConnectNak(AttributeId attrib_id, StatusCode status,
                                   absl::Span<const uint8_t> original) {
  return EncodeWithStatusInfo(MessageType::kCallConnectNak, attrib_id, status, original);
}

ControlPacket EncodeCallConnected(const CryptoBinding& b) {
  ControlPacket p;
  WriteControlHeader(p, MessageType::kCallConnected, kCallConnectedLength, 1);
  uint8_t* a = &p.bytes[kControlHeaderSize];
  WriteAttributeHeader(a, AttributeId::kCryptoBinding, kCryptoBindingLength);
  a[7] = b.hash_protocol;
  std::memcpy(a + 8, b.nonce.data(), kNonceSize);
  std::memcpy(a + 40, b.cert_hash.data(), kHashFieldSize);
  std::memcpy(a + 72, b.compound_mac.data(), kHashFieldSize);
  return p;
}

ControlPacket EncodeCallAbort(AttributeId attrib_id, StatusCode status,
                              absl::Span<const uint8_t> original) {
  return EncodeWithStatusInfo(MessageType::kCallAbort, attrib_id, status, original);
}

ControlPacket EncodeCallDisconnect(AttributeId attrib_id, StatusCode status) {
  return EncodeWithStatusInfo(MessageType::kCallDisconnect, attrib_id, status, {});
}

ControlPacket EncodeCallDisconnectAck() { return EncodeBare(MessageType::kCallDisconnectAck); }
ControlPacket EncodeEchoRequest() { return EncodeBare(MessageType::kEchoRequest); }
ControlPacket EncodeEchoResponse() { return EncodeBare(MessageType::kEchoResponse); }

absl::StatusOr<size_t> EncodeDataPacket(absl::Span<const uint8_t> payload,
                                        absl::Span<uint8_t> out) {
  if (payload.size() > kMaxDataPayload) {
    return absl::InvalidArgumentError(
        absl::StrFormat("PPP frame of %d bytes exceeds the SSTP maximum of %d (lower the MRU)",
                        payload.size(), kMaxDataPayload));
  }
  if (out.size() < payload.size() + kHeaderSize) {
    return absl::ResourceExhaustedError("output buffer too small for the SSTP data packet");
  }
  WriteDataHeader(out.data(), payload.size());
  if (!payload.empty()) std::memcpy(out.data() + kHeaderSize, payload.data(), payload.size());
  return payload.size() + kHeaderSize;
}

absl::Status StreamAssembler::Fail(absl::string_view what, const uint8_t* h) {
  error_ = absl::DataLossError(absl::StrFormat(
      "SSTP framing lost (%s: bytes %02x %02x %02x %02x; version must be 0x10 and the length at "
      "least one header): the stream cannot be delineated, close the connection",
      what, h[0], h[1], h[2], h[3]));
  buffered_ = 0;
  return error_;
}

}  // namespace sstp
