// SSTP packet codec (MS-SSTP section 2.2): the 4-byte header, data packets, every control
// message and attribute, with the validation rules of the spec. No I/O, no allocation on the data
// path: parsing returns views into the caller's bytes, encoding writes into fixed-size buffers.
#ifndef SSTP_PACKET_H_
#define SSTP_PACKET_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sstp {

// MS-SSTP 2.2.1/2.2.2: Version 1.0 (major 1, minor 0), C bit, 4 reserved bits, 12-bit length.
inline constexpr uint8_t kVersion = 0x10;
inline constexpr size_t kHeaderSize = 4;
inline constexpr size_t kControlHeaderSize = 8;  // header + Message Type + Num Attributes
inline constexpr size_t kAttributeHeaderSize = 4;
inline constexpr size_t kMaxPacketSize = 0x0FFF;                         // the 12-bit Length field
inline constexpr size_t kMaxDataPayload = kMaxPacketSize - kHeaderSize;  // 4091: a PPP MRU cap

// MS-SSTP 2.2.2 Message Type.
enum class MessageType : uint16_t {
  kCallConnectRequest = 0x0001,
  kCallConnectAck = 0x0002,
  kCallConnectNak = 0x0003,
  kCallConnected = 0x0004,
  kCallAbort = 0x0005,
  kCallDisconnect = 0x0006,
  kCallDisconnectAck = 0x0007,
  kEchoRequest = 0x0008,
  kEchoResponse = 0x0009,
};

// MS-SSTP 2.2.4 / 2.2.8 Attribute IDs (0 is only valid as a Status Info AttribID).
enum class AttributeId : uint8_t {
  kNoError = 0x00,
  kEncapsulatedProtocolId = 0x01,
  kStatusInfo = 0x02,
  kCryptoBinding = 0x03,
  kCryptoBindingRequest = 0x04,
};

// MS-SSTP 2.2.8 Status values.
enum class StatusCode : uint32_t {
  kNoError = 0x00000000,
  kDuplicateAttribute = 0x00000001,
  kUnrecognizedAttribute = 0x00000002,
  kInvalidAttribValueLength = 0x00000003,
  kValueNotSupported = 0x00000004,
  kUnacceptedFrameReceived = 0x00000005,
  kRetryCountExceeded = 0x00000006,
  kInvalidFrameReceived = 0x00000007,
  kNegotiationTimeout = 0x00000008,
  kAttribNotSupportedInMsg = 0x00000009,
  kRequiredAttributeMissing = 0x0000000A,
  kStatusInfoNotSupportedInMsg = 0x0000000B,
};

// MS-SSTP 2.2.5: the only encapsulated protocol.
inline constexpr uint16_t kEncapsulatedProtocolPpp = 0x0001;

// MS-SSTP 2.2.6/2.2.7 hash protocol bits.
inline constexpr uint8_t kHashProtocolSha1 = 0x01;    // CERT_HASH_PROTOCOL_SHA1
inline constexpr uint8_t kHashProtocolSha256 = 0x02;  // CERT_HASH_PROTOCOL_SHA256

// Fixed attribute and message lengths (MS-SSTP 2.2.5-2.2.11).
inline constexpr size_t kEncapsulatedProtocolIdLength = 6;
inline constexpr size_t kCryptoBindingRequestLength = 40;
inline constexpr size_t kCryptoBindingLength = 104;
inline constexpr size_t kStatusInfoMinLength = 12;
inline constexpr size_t kStatusInfoMaxValue =
    64;  // AttribValue holds at most one original attribute
inline constexpr size_t kCallConnectRequestLength = 14;
inline constexpr size_t kCallConnectAckLength = 48;
inline constexpr size_t kCallConnectedLength = 112;
inline constexpr size_t kNonceSize = 32;
inline constexpr size_t kHashFieldSize = 32;  // Cert Hash and Compound MAC fields (SHA1 padded)
// Offsets inside a CALL_CONNECTED message (used to zero/fill the MAC for crypto binding).
inline constexpr size_t kCallConnectedHashProtocolOffset = 15;
inline constexpr size_t kCallConnectedNonceOffset = 16;
inline constexpr size_t kCallConnectedCertHashOffset = 48;
inline constexpr size_t kCallConnectedMacOffset = 80;

using Nonce = std::array<uint8_t, kNonceSize>;
using HashField = std::array<uint8_t, kHashFieldSize>;

absl::string_view MessageTypeName(MessageType type);
absl::string_view AttributeIdName(AttributeId id);
absl::string_view StatusCodeName(StatusCode code);

// ---------------------------------------------------------------------------------------------
// Header (data path). Inline so the data plane pays for nothing but the byte stores.

struct Header {
  bool control = false;
  uint16_t length = 0;  // whole packet, header included
};

// Reads the 4-byte header; checks only the version (reserved bits are ignored on receipt, per
// MS-SSTP 2.2.1) and that the length covers the header. Does not look at the rest.
inline bool ReadHeader(const uint8_t* p, Header* out) {
  if (p[0] != kVersion) return false;
  out->control = (p[1] & 0x01) != 0;
  out->length = static_cast<uint16_t>(((p[2] & 0x0F) << 8) | p[3]);
  return out->length >= (out->control ? kControlHeaderSize : kHeaderSize);
}

// Writes the 4-byte data header (C = 0) for a payload of `payload_len` bytes into `dst` (for
// example an mbuf's headroom). payload_len must be <= kMaxDataPayload (the caller's MRU
// guarantees it); returns false and writes nothing otherwise.
inline bool WriteDataHeader(uint8_t* dst, size_t payload_len) {
  if (payload_len > kMaxDataPayload) return false;
  const size_t len = payload_len + kHeaderSize;
  dst[0] = kVersion;
  dst[1] = 0x00;
  dst[2] = static_cast<uint8_t>(len >> 8);
  dst[3] = static_cast<uint8_t>(len);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Parsed messages.

struct StatusInfo {
  AttributeId attrib_id = AttributeId::kNoError;  // the attribute this status is about
  StatusCode status = StatusCode::kNoError;
  std::array<uint8_t, kStatusInfoMaxValue> value{};  // AttribValue (the offending attribute)
  uint8_t value_length = 0;
  absl::Span<const uint8_t> attrib_value() const { return {value.data(), value_length}; }
};

struct CryptoBindingRequest {
  uint8_t hash_protocol_bitmask = 0;
  Nonce nonce{};
};

struct CryptoBinding {
  uint8_t hash_protocol = 0;
  Nonce nonce{};
  HashField cert_hash{};
  HashField compound_mac{};
};

// At most this many Status Info attributes are kept from a NAK/ABORT/DISCONNECT; more are
// accepted (the spec allows "one or more" in a NAK) but only counted.
inline constexpr size_t kMaxStatusInfos = 4;

struct ControlMessage {
  MessageType type = MessageType::kEchoRequest;
  uint16_t num_attributes = 0;
  std::optional<uint16_t> encapsulated_protocol;               // CALL_CONNECT_REQUEST
  std::optional<CryptoBindingRequest> crypto_binding_request;  // CALL_CONNECT_ACK
  std::optional<CryptoBinding> crypto_binding;                 // CALL_CONNECTED
  std::array<StatusInfo, kMaxStatusInfos> status_infos{};
  uint8_t status_info_count = 0;  // kept, <= kMaxStatusInfos
  // First Status Info, if any (what ABORT/DISCONNECT carry).
  const StatusInfo* first_status() const {
    return status_info_count > 0 ? &status_infos[0] : nullptr;
  }
};

struct Packet {
  bool control = false;
  absl::Span<const uint8_t> data;  // data packet: the PPP frame (a view into the input)
  ControlMessage message;          // control packet
};

// What a parse error means for the Status Info of the CALL_ABORT we answer with.
struct ParseError {
  StatusCode status = StatusCode::kInvalidFrameReceived;
  AttributeId attribute = AttributeId::kNoError;
};

// Parses exactly one SSTP packet occupying all of `bytes` and applies every validation rule of
// MS-SSTP 2.2: version 0x10; Length equal to the byte count; message type known; Num Attributes
// equal to the attributes present; each attribute's length fixed/bounded per its type; only the
// attributes each message type allows, in the counts it allows; no duplicates of single
// attributes. Reserved fields are ignored on receipt (MS-SSTP: "MUST be ignored on receipt").
// On error `error` (if given) receives the Status Info to put in the CALL_ABORT.
absl::StatusOr<Packet> ParsePacket(absl::Span<const uint8_t> bytes, ParseError* error = nullptr);

// ---------------------------------------------------------------------------------------------
// Encoders. Each control message we send carries at most one attribute (MS-SSTP allows more in a
// NAK; the Linux client misparses more) and ABORT/DISCONNECT always carry a Status Info.

inline constexpr size_t kMaxControlPacketSize = kCallConnectedLength;

// A control packet in a fixed buffer: no allocation.
struct ControlPacket {
  std::array<uint8_t, kMaxControlPacketSize> bytes{};
  size_t size = 0;
  absl::Span<const uint8_t> span() const { return {bytes.data(), size}; }
  absl::Span<uint8_t> mutable_span() { return {bytes.data(), size}; }
};

ControlPacket EncodeCallConnectRequest(uint16_t protocol = kEncapsulatedProtocolPpp);
ControlPacket EncodeCallConnectAck(uint8_t hash_protocol_bitmask, const Nonce& nonce);
// NAK with one Status Info; `original` (<= 64 bytes) is the rejected attribute, copied into
// AttribValue.
ControlPacket EncodeCallConnectNak(AttributeId attrib_id, StatusCode status,
                                   absl::Span<const uint8_t> original = {});
// CALL_CONNECTED with the given Crypto Binding fields (SHA1 values already padded to 32 bytes).
// The MAC is computed separately (sstp/crypto_binding.h), over this packet with the MAC zeroed.
ControlPacket EncodeCallConnected(const CryptoBinding& binding);
ControlPacket EncodeCallAbort(AttributeId attrib_id, StatusCode status,
                              absl::Span<const uint8_t> original = {});
ControlPacket EncodeCallDisconnect(AttributeId attrib_id = AttributeId::kNoError,
                                   StatusCode status = StatusCode::kNoError);
ControlPacket EncodeCallDisconnectAck();
ControlPacket EncodeEchoRequest();
ControlPacket EncodeEchoResponse();

// Encodes a data packet (header + payload) into `out`; returns the bytes written or an error if
// the payload is too long or `out` too small.
absl::StatusOr<size_t> EncodeDataPacket(absl::Span<const uint8_t> payload, absl::Span<uint8_t> out);

// ---------------------------------------------------------------------------------------------
// Stream assembler: cuts the TLS plaintext byte stream into SSTP packets. Packets wholly inside
// one Feed() are handed out as views into the input (no copy); only a packet that spans reads is
// copied into the assembler's fixed buffer (at most one packet, kMaxPacketSize bytes).
// MS-SSTP 3.1.5.1: when delineation fails the connection is aborted without sending anything, so
// an error here is sticky and the caller closes the connection.

class StreamAssembler {
 public:
  // Calls `on_packet(span)` for each complete packet in order. Returns an error (and stops) when a
  // header is invalid (wrong version, length shorter than a header). After an error every later
  // call returns the same error.
  template <typename OnPacket>
  absl::Status Feed(absl::Span<const uint8_t> bytes, OnPacket&& on_packet);

  // Bytes held for a packet that spans reads.
  size_t buffered() const { return buffered_; }
  bool failed() const { return !error_.ok(); }
  void Reset() {
    buffered_ = 0;
    error_ = absl::OkStatus();
  }

 private:
  absl::Status Fail(absl::string_view what, const uint8_t* header);

  std::array<uint8_t, kMaxPacketSize> buf_{};
  size_t buffered_ = 0;
  absl::Status error_;
};

template <typename OnPacket>
absl::Status StreamAssembler::Feed(absl::Span<const uint8_t> bytes, OnPacket&& on_packet) {
  if (!error_.ok()) return error_;
  size_t pos = 0;
  // Finish a packet that spans reads.
  while (buffered_ > 0 && pos < bytes.size()) {
    size_t need;
    if (buffered_ < kHeaderSize) {
      need = kHeaderSize - buffered_;
    } else {
      Header h;
      if (!ReadHeader(buf_.data(), &h)) return Fail("bad header", buf_.data());
      need = h.length - buffered_;
    }
    const size_t take = std::min(need, bytes.size() - pos);
    std::memcpy(buf_.data() + buffered_, bytes.data() + pos, take);
    buffered_ += take;
    pos += take;
    if (buffered_ >= kHeaderSize) {
      Header h;
      if (!ReadHeader(buf_.data(), &h)) return Fail("bad header", buf_.data());
      if (buffered_ == h.length) {
        buffered_ = 0;
        on_packet(absl::Span<const uint8_t>(buf_.data(), h.length));
        if (!error_.ok()) return error_;
      }
    }
  }
  // Whole packets straight from the input.
  while (pos < bytes.size()) {
    const size_t left = bytes.size() - pos;
    if (left < kHeaderSize) break;
    Header h;
    if (!ReadHeader(bytes.data() + pos, &h)) return Fail("bad header", bytes.data() + pos);
    if (left < h.length) break;
    on_packet(bytes.subspan(pos, h.length));
    pos += h.length;
    if (!error_.ok()) return error_;
  }
  // Keep the tail.
  if (pos < bytes.size()) {
    const size_t left = bytes.size() - pos;
    if (left >= kHeaderSize) {
      Header h;
      if (!ReadHeader(bytes.data() + pos, &h)) return Fail("bad header", bytes.data() + pos);
    }
    std::memcpy(buf_.data(), bytes.data() + pos, left);  // left < h.length <= kMaxPacketSize
    buffered_ = left;
  }
  return absl::OkStatus();
}

}  // namespace sstp

#endif  // SSTP_PACKET_H_
