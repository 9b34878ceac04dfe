#include "sstp/packet.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/sstp/test_util.h"

namespace sstp {
namespace {

using ::sstp::testing::Hex;

std::vector<uint8_t> Bytes(const ControlPacket& p) { return {p.span().begin(), p.span().end()}; }

Packet MustParse(const std::vector<uint8_t>& b) {
  absl::StatusOr<Packet> p = ParsePacket(b);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : Packet{};
}

ParseError MustFail(const std::vector<uint8_t>& b) {
  ParseError e;
  absl::StatusOr<Packet> p = ParsePacket(b, &e);
  EXPECT_FALSE(p.ok());
  return e;
}

Nonce TestNonce() {
  Nonce n;
  for (size_t i = 0; i < n.size(); ++i) n[i] = static_cast<uint8_t>(i * 7 + 1);
  return n;
}

// ---- the spec's own bytes -------------------------------------------------------------------

TEST(Packet, Spec47MessagesParse) {
  Packet req = MustParse(testing::Spec47CallConnectRequest());
  EXPECT_TRUE(req.control);
  EXPECT_EQ(req.message.type, MessageType::kCallConnectRequest);
  EXPECT_EQ(req.message.encapsulated_protocol, kEncapsulatedProtocolPpp);

  Packet ack = MustParse(testing::Spec47CallConnectAck());
  EXPECT_EQ(ack.message.type, MessageType::kCallConnectAck);
  ASSERT_TRUE(ack.message.crypto_binding_request.has_value());
  EXPECT_EQ(ack.message.crypto_binding_request->hash_protocol_bitmask, kHashProtocolSha256);
  EXPECT_EQ(ack.message.crypto_binding_request->nonce[0], 0x41);
  EXPECT_EQ(ack.message.crypto_binding_request->nonce[31], 0x35);

  Packet conn = MustParse(testing::Spec47CallConnected());
  EXPECT_EQ(conn.message.type, MessageType::kCallConnected);
  ASSERT_TRUE(conn.message.crypto_binding.has_value());
  EXPECT_EQ(conn.message.crypto_binding->hash_protocol, kHashProtocolSha256);
  EXPECT_EQ(conn.message.crypto_binding->cert_hash[0], 0x79);
  EXPECT_EQ(conn.message.crypto_binding->compound_mac[0], 0x52);
  EXPECT_EQ(conn.message.crypto_binding->compound_mac[31], 0x49);
}

TEST(Packet, EncodersReproduceSpec47Bytes) {
  EXPECT_EQ(Bytes(EncodeCallConnectRequest()), testing::Spec47CallConnectRequest());
  const auto& ack = testing::Spec47CallConnectAck();
  Nonce n;
  std::copy(ack.begin() + 16, ack.end(), n.begin());
  EXPECT_EQ(Bytes(EncodeCallConnectAck(kHashProtocolSha256, n)), ack);
  Packet conn = MustParse(testing::Spec47CallConnected());
  EXPECT_EQ(Bytes(EncodeCallConnected(*conn.message.crypto_binding)),
            testing::Spec47CallConnected());
}

// ---- round trips of every control message ---------------------------------------------------

TEST(Packet, RoundTripEveryControlMessage) {
  {
    Packet p = MustParse(
        Bytes(EncodeCallConnectAck(kHashProtocolSha1 | kHashProtocolSha256, TestNonce())));
    EXPECT_EQ(p.message.crypto_binding_request->hash_protocol_bitmask, 3);
    EXPECT_EQ(p.message.crypto_binding_request->nonce, TestNonce());
  }
  {
    const uint8_t original[] = {0, 1, 0, 6, 0, 2};
    ControlPacket nak = EncodeCallConnectNak(AttributeId::kEncapsulatedProtocolId,
                                             StatusCode::kValueNotSupported, original);
    EXPECT_EQ(nak.size, 8u + 12u + 6u);
    Packet p = MustParse(Bytes(nak));
    EXPECT_EQ(p.message.type, MessageType::kCallConnectNak);
    ASSERT_EQ(p.message.status_info_count, 1);
    EXPECT_EQ(p.message.status_infos[0].attrib_id, AttributeId::kEncapsulatedProtocolId);
    EXPECT_EQ(p.message.status_infos[0].status, StatusCode::kValueNotSupported);
    EXPECT_EQ(std::vector<uint8_t>(p.message.status_infos[0].attrib_value().begin(),
                                   p.message.status_infos[0].attrib_value().end()),
              std::vector<uint8_t>(std::begin(original), std::end(original)));
  }
  {
    CryptoBinding b;
    b.hash_protocol = kHashProtocolSha1;
    b.nonce = TestNonce();
    b.cert_hash.fill(0xAB);
    b.compound_mac.fill(0xCD);
    ControlPacket c = EncodeCallConnected(b);
    EXPECT_EQ(c.size, kCallConnectedLength);
    Packet p = MustParse(Bytes(c));
    EXPECT_EQ(p.message.crypto_binding->hash_protocol, kHashProtocolSha1);
    EXPECT_EQ(p.message.crypto_binding->nonce, b.nonce);
    EXPECT_EQ(p.message.crypto_binding->cert_hash, b.cert_hash);
    EXPECT_EQ(p.message.crypto_binding->compound_mac, b.compound_mac);
  }
  {
    Packet p = MustParse(
        Bytes(EncodeCallAbort(AttributeId::kCryptoBinding, StatusCode::kValueNotSupported)));
    EXPECT_EQ(p.message.type, MessageType::kCallAbort);
    ASSERT_NE(p.message.first_status(), nullptr);  // a Status Info in every ABORT we send
    EXPECT_EQ(p.message.first_status()->status, StatusCode::kValueNotSupported);
    EXPECT_EQ(p.message.first_status()->attrib_id, AttributeId::kCryptoBinding);
    EXPECT_EQ(p.message.num_attributes, 1);
  }
  {
    ControlPacket d = EncodeCallDisconnect();
    Packet p = MustParse(Bytes(d));
    EXPECT_EQ(p.message.type, MessageType::kCallDisconnect);
    ASSERT_NE(p.message.first_status(), nullptr);  // and in every DISCONNECT
    EXPECT_EQ(p.message.first_status()->status, StatusCode::kNoError);
    EXPECT_EQ(d.size, 20u);
  }
  for (auto [packet, type] : {std::pair{EncodeCallDisconnectAck(), MessageType::kCallDisconnectAck},
                              std::pair{EncodeEchoRequest(), MessageType::kEchoRequest},
                              std::pair{EncodeEchoResponse(), MessageType::kEchoResponse}}) {
    EXPECT_EQ(packet.size, 8u);
    Packet p = MustParse(Bytes(packet));
    EXPECT_EQ(p.message.type, type);
    EXPECT_EQ(p.message.num_attributes, 0);
  }
}

TEST(Packet, EveryEncodedMessageHasAtMostOneAttribute) {
  for (const ControlPacket& p :
       {EncodeCallConnectRequest(), EncodeCallConnectAck(3, TestNonce()),
        EncodeCallConnectNak(AttributeId::kEncapsulatedProtocolId, StatusCode::kValueNotSupported),
        EncodeCallConnected(CryptoBinding{}),
        EncodeCallAbort(AttributeId::kNoError, StatusCode::kNegotiationTimeout),
        EncodeCallDisconnect(), EncodeCallDisconnectAck(), EncodeEchoRequest(),
        EncodeEchoResponse()}) {
    EXPECT_LE((p.bytes[6] << 8) | p.bytes[7], 1);
    EXPECT_EQ(p.bytes[0], kVersion);
    EXPECT_EQ(p.bytes[1], 0x01);
    EXPECT_EQ(static_cast<size_t>(((p.bytes[2] & 0x0F) << 8) | p.bytes[3]), p.size);
  }
}

TEST(Packet, NakStatusInfoValueIsCappedAt64Bytes) {
  std::vector<uint8_t> big(100, 0xEE);
  ControlPacket nak =
      EncodeCallConnectNak(AttributeId::kCryptoBinding, StatusCode::kValueNotSupported, big);
  EXPECT_EQ(nak.size, 8u + 12u + 64u);
  MustParse(Bytes(nak));
}

// ---- data packets ---------------------------------------------------------------------------

TEST(Packet, DataPacketHeaderWriterAndParse) {
  const std::vector<uint8_t> ppp = {0xFF, 0x03, 0xC0, 0x21, 0x01, 0x01, 0x00, 0x04};
  std::vector<uint8_t> buf(64, 0x55);
  ASSERT_TRUE(WriteDataHeader(buf.data(), ppp.size()));
  EXPECT_EQ(buf[0], 0x10);
  EXPECT_EQ(buf[1], 0x00);
  EXPECT_EQ(buf[2], 0x00);
  EXPECT_EQ(buf[3], 12);
  absl::StatusOr<size_t> n = EncodeDataPacket(ppp, absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 12u);
  const std::vector<uint8_t> wire(buf.begin(), buf.begin() + *n);
  Packet p = MustParse(wire);  // p.data is a view into `wire`
  EXPECT_FALSE(p.control);
  EXPECT_EQ(std::vector<uint8_t>(p.data.begin(), p.data.end()), ppp);
}

TEST(Packet, DataPacketLimits) {
  uint8_t head[4];
  EXPECT_TRUE(WriteDataHeader(head, kMaxDataPayload));
  EXPECT_EQ(head[2], 0x0F);
  EXPECT_EQ(head[3], 0xFF);
  EXPECT_FALSE(WriteDataHeader(head, kMaxDataPayload + 1));
  std::vector<uint8_t> big(kMaxDataPayload + 1), out(5000);
  EXPECT_FALSE(EncodeDataPacket(big, absl::MakeSpan(out)).ok());
  std::vector<uint8_t> small(10), tiny(8);
  EXPECT_FALSE(EncodeDataPacket(small, absl::MakeSpan(tiny)).ok());
  // An empty data packet is well-formed (the header alone).
  Packet p = MustParse({0x10, 0x00, 0x00, 0x04});
  EXPECT_TRUE(p.data.empty());
}

// ---- validation rules -----------------------------------------------------------------------

TEST(PacketValidation, HeaderRules) {
  MustFail({});
  MustFail({0x10, 0x01, 0x00});
  MustFail({0x11, 0x01, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00});  // version 1.1
  MustFail({0x20, 0x00, 0x00, 0x04});                          // version 2.0
  MustFail({0x10, 0x01, 0x00, 0x09, 0x00, 0x08, 0x00, 0x00});  // Length > bytes
  MustFail({0x10, 0x01, 0x00, 0x07, 0x00, 0x08, 0x00, 0x00});  // Length < bytes
  MustFail({0x10, 0x00, 0x00, 0x03});                          // data shorter than header
  MustFail({0x10, 0x01, 0x00, 0x04});                          // control without type
  MustFail({0x10, 0x01, 0x00, 0x06, 0x00, 0x08});
}

TEST(PacketValidation, ReservedBitsAreIgnoredOnReceipt) {
  // MS-SSTP 2.2: reserved fields "MUST be ignored on receipt".
  Packet echo = MustParse({0x10, 0xFF, 0xF0, 0x08, 0x00, 0x08, 0x00, 0x00});
  EXPECT_TRUE(echo.control);
  EXPECT_EQ(echo.message.type, MessageType::kEchoRequest);
  Packet data = MustParse({0x10, 0xFE, 0x70, 0x05, 0xAA});
  EXPECT_FALSE(data.control);
  std::vector<uint8_t> req = testing::Spec47CallConnectRequest();
  req[8] = 0xFF;    // attribute Reserved
  req[10] |= 0xF0;  // attribute R bits
  EXPECT_EQ(MustParse(req).message.encapsulated_protocol, kEncapsulatedProtocolPpp);
}

TEST(PacketValidation, UnknownMessageTypes) {
  for (uint16_t t : {0x0000, 0x000A, 0x00FF, 0xFFFF}) {
    ParseError e = MustFail({0x10, 0x01, 0x00, 0x08, static_cast<uint8_t>(t >> 8),
                             static_cast<uint8_t>(t), 0x00, 0x00});
    EXPECT_EQ(e.status, StatusCode::kInvalidFrameReceived);
  }
}

TEST(PacketValidation, NumAttributesMustMatch) {
  std::vector<uint8_t> req = testing::Spec47CallConnectRequest();
  req[7] = 2;
  EXPECT_EQ(MustFail(req).status, StatusCode::kInvalidFrameReceived);
  std::vector<uint8_t> echo = Bytes(EncodeEchoRequest());
  echo[7] = 1;
  MustFail(echo);
}

TEST(PacketValidation, AttributeHeaderAndLengthRules) {
  // Two bytes left where an attribute should be.
  MustFail({0x10, 0x01, 0x00, 0x0A, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01});
  // Unknown attribute ids 0 and 5.
  for (uint8_t id : {0x00, 0x05, 0xFF}) {
    std::vector<uint8_t> req = testing::Spec47CallConnectRequest();
    req[9] = id;
    ParseError e = MustFail(req);
    EXPECT_EQ(e.status, StatusCode::kUnrecognizedAttribute);
  }
  // Attribute length shorter than its header, and longer than the packet.
  for (uint8_t len : {0x00, 0x03, 0x07, 0xFF}) {
    std::vector<uint8_t> req = testing::Spec47CallConnectRequest();
    req[11] = len;
    ParseError e = MustFail(req);
    EXPECT_EQ(e.status, StatusCode::kInvalidAttribValueLength) << int(len);
  }
}

TEST(PacketValidation, FixedAttributeLengths) {
  // Encapsulated Protocol ID of 8 bytes (Length 8, packet 16).
  MustFail({0x10, 0x01, 0x00, 0x10, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00, 0x01,
            0x00, 0x00});
  // Crypto Binding Request of 44 bytes.
  std::vector<uint8_t> ack = testing::Spec47CallConnectAck();
  ack.insert(ack.end(), 4, 0);
  ack[3] = 0x34;
  ack[11] = 0x2C;
  EXPECT_EQ(MustFail(ack).status, StatusCode::kInvalidAttribValueLength);
  // Crypto Binding of 100 bytes.
  std::vector<uint8_t> conn = testing::Spec47CallConnected();
  conn.resize(108);
  conn[3] = 108;
  conn[11] = 100;
  EXPECT_EQ(MustFail(conn).status, StatusCode::kInvalidAttribValueLength);
  // Status Info of 11 bytes.
  std::vector<uint8_t> abort = Bytes(EncodeCallAbort(AttributeId::kNoError, StatusCode::kNoError));
  std::vector<uint8_t> short_si = abort;
  short_si.pop_back();
  short_si[3] = 19;
  short_si[11] = 11;
  EXPECT_EQ(MustFail(short_si).status, StatusCode::kInvalidAttribValueLength);
  // A longer AttribValue (a peer echoing a whole 104-byte Crypto Binding) is accepted; the first
  // 64 bytes are kept.
  std::vector<uint8_t> long_si = abort;
  long_si.insert(long_si.end(), 104, 0xAB);
  long_si[3] = static_cast<uint8_t>(long_si.size());
  long_si[11] = 12 + 104;
  const Packet p = MustParse(long_si);
  EXPECT_EQ(p.message.first_status()->value_length, kStatusInfoMaxValue);
}

TEST(PacketValidation, StatusInfoContents) {
  std::vector<uint8_t> abort = Bytes(EncodeCallAbort(AttributeId::kNoError, StatusCode::kNoError));
  std::vector<uint8_t> bad_about = abort;
  bad_about[15] = 0x05;  // AttribID unknown
  MustFail(bad_about);
  std::vector<uint8_t> bad_status = abort;
  bad_status[19] = 0x0C;  // Status beyond ATTRIB_STATUS_STATUS_INFO_NOT_SUPPORTED_IN_MSG
  MustFail(bad_status);
  std::vector<uint8_t> last_status = abort;
  last_status[19] = 0x0B;
  EXPECT_EQ(MustParse(last_status).message.first_status()->status,
            StatusCode::kStatusInfoNotSupportedInMsg);
}

TEST(PacketValidation, AttributesAllowedPerMessageType) {
  // A Status Info in a CALL_CONNECT_REQUEST (MS-SSTP 3.3.5.2.2 names the status for that).
  std::vector<uint8_t> req = testing::Spec47CallConnectRequest();
  std::vector<uint8_t> si = {0x00, 0x02, 0x00, 0x0C, 0, 0, 0, 0, 0, 0, 0, 0};
  req.insert(req.end(), si.begin(), si.end());
  req[3] = static_cast<uint8_t>(req.size());
  req[7] = 2;
  ParseError e = MustFail(req);
  EXPECT_EQ(e.status, StatusCode::kStatusInfoNotSupportedInMsg);
  EXPECT_EQ(e.attribute, AttributeId::kStatusInfo);
  // Two Encapsulated Protocol IDs: duplicate.
  std::vector<uint8_t> dup = testing::Spec47CallConnectRequest();
  dup.insert(dup.end(), {0x00, 0x01, 0x00, 0x06, 0x00, 0x01});
  dup[3] = static_cast<uint8_t>(dup.size());
  dup[7] = 2;
  EXPECT_EQ(MustFail(dup).status, StatusCode::kDuplicateAttribute);
  // An Encapsulated Protocol ID in an ECHO_REQUEST.
  std::vector<uint8_t> echo = {0x10, 0x01, 0x00, 0x0E, 0x00, 0x08, 0x00,
                               0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x01};
  EXPECT_EQ(MustFail(echo).status, StatusCode::kAttribNotSupportedInMsg);
  // A Crypto Binding Request in a CALL_CONNECTED: change the ACK's type to 4.
  std::vector<uint8_t> wrong = testing::Spec47CallConnectAck();
  wrong[5] = 0x04;
  EXPECT_EQ(MustFail(wrong).status, StatusCode::kAttribNotSupportedInMsg);
  // ACK, NAK, CONNECTED, REQUEST without their attribute.
  for (uint8_t type : {0x01, 0x02, 0x03, 0x04}) {
    ParseError m = MustFail({0x10, 0x01, 0x00, 0x08, 0x00, type, 0x00, 0x00});
    EXPECT_EQ(m.status, StatusCode::kRequiredAttributeMissing) << int(type);
  }
  // ABORT and DISCONNECT without a Status Info are fine on receipt; with two as well.
  MustParse({0x10, 0x01, 0x00, 0x08, 0x00, 0x05, 0x00, 0x00});
  MustParse({0x10, 0x01, 0x00, 0x08, 0x00, 0x06, 0x00, 0x00});
  std::vector<uint8_t> two = Bytes(EncodeCallDisconnect());
  two.insert(two.end(), two.begin() + 8, two.end());
  two[3] = static_cast<uint8_t>(two.size());
  two[7] = 2;
  EXPECT_EQ(MustParse(two).message.status_info_count, 2);
  // A NAK with several Status Infos keeps the first kMaxStatusInfos.
  std::vector<uint8_t> nak = Bytes(
      EncodeCallConnectNak(AttributeId::kEncapsulatedProtocolId, StatusCode::kValueNotSupported));
  const std::vector<uint8_t> one(nak.begin() + 8, nak.end());
  for (int i = 0; i < 5; ++i) nak.insert(nak.end(), one.begin(), one.end());
  nak[2] = static_cast<uint8_t>(nak.size() >> 8);
  nak[3] = static_cast<uint8_t>(nak.size());
  nak[7] = 6;
  EXPECT_EQ(MustParse(nak).message.status_info_count, kMaxStatusInfos);
}

TEST(PacketValidation, NamesForLogs) {
  EXPECT_EQ(MessageTypeName(MessageType::kCallConnected), "SSTP_MSG_CALL_CONNECTED");
  EXPECT_EQ(AttributeIdName(AttributeId::kCryptoBindingRequest), "SSTP_ATTRIB_CRYPTO_BINDING_REQ");
  EXPECT_EQ(StatusCodeName(StatusCode::kNegotiationTimeout), "ATTRIB_STATUS_NEGOTIATION_TIMEOUT");
}

// ---- stream assembler -----------------------------------------------------------------------

std::vector<uint8_t> SampleStream() {
  std::vector<uint8_t> s;
  auto add = [&](const std::vector<uint8_t>& p) { s.insert(s.end(), p.begin(), p.end()); };
  add(testing::Spec47CallConnectRequest());
  add({0x10, 0x00, 0x00, 0x08, 0xFF, 0x03, 0xC0, 0x21});
  add(testing::Spec47CallConnected());
  add(Bytes(EncodeEchoRequest()));
  std::vector<uint8_t> big(kMaxPacketSize);
  WriteDataHeader(big.data(), kMaxDataPayload);
  for (size_t i = 4; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i);
  add(big);
  return s;
}

std::vector<std::vector<uint8_t>> Cut(const std::vector<uint8_t>& stream, size_t chunk) {
  StreamAssembler a;
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i < stream.size(); i += chunk) {
    const size_t n = std::min(chunk, stream.size() - i);
    absl::Status s =
        a.Feed(absl::MakeConstSpan(stream.data() + i, n),
               [&](absl::Span<const uint8_t> p) { out.emplace_back(p.begin(), p.end()); });
    EXPECT_TRUE(s.ok()) << s;
  }
  EXPECT_EQ(a.buffered(), 0u);
  return out;
}

TEST(StreamAssembler, CutsPacketsWhateverTheReadSizes) {
  const std::vector<uint8_t> stream = SampleStream();
  const auto whole = Cut(stream, stream.size());
  ASSERT_EQ(whole.size(), 5u);
  EXPECT_EQ(whole[0], testing::Spec47CallConnectRequest());
  EXPECT_EQ(whole[2], testing::Spec47CallConnected());
  EXPECT_EQ(whole[4].size(), kMaxPacketSize);
  for (size_t chunk : {1, 2, 3, 4, 5, 7, 13, 100, 1000, 4095, 4096}) {
    EXPECT_EQ(Cut(stream, chunk), whole) << "chunk " << chunk;
  }
}

TEST(StreamAssembler, PartialPacketIsHeldUntilComplete) {
  StreamAssembler a;
  int n = 0;
  auto count = [&](absl::Span<const uint8_t>) { ++n; };
  const auto& req = testing::Spec47CallConnectRequest();
  ASSERT_TRUE(a.Feed(absl::MakeConstSpan(req.data(), 3), count).ok());
  EXPECT_EQ(a.buffered(), 3u);
  ASSERT_TRUE(a.Feed(absl::MakeConstSpan(req.data() + 3, 10), count).ok());
  EXPECT_EQ(n, 0);
  ASSERT_TRUE(a.Feed(absl::MakeConstSpan(req.data() + 13, 1), count).ok());
  EXPECT_EQ(n, 1);
}

TEST(StreamAssembler, BadHeaderIsAStickyError) {
  StreamAssembler a;
  int n = 0;
  auto count = [&](absl::Span<const uint8_t>) { ++n; };
  std::vector<uint8_t> s = testing::Spec47CallConnectRequest();
  s.insert(s.end(), {0x16, 0x03, 0x01, 0x00});  // a TLS record header: not SSTP
  absl::Status st = a.Feed(s, count);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(n, 1);
  EXPECT_NE(st.message().find("16 03 01 00"), std::string::npos) << st;
  EXPECT_TRUE(a.failed());
  EXPECT_FALSE(a.Feed(testing::Spec47CallConnectRequest(), count).ok());
  EXPECT_EQ(n, 1);
}

TEST(StreamAssembler, LengthShorterThanHeaderIsAnError) {
  for (std::vector<uint8_t> bad :
       {std::vector<uint8_t>{0x10, 0x00, 0x00, 0x03}, std::vector<uint8_t>{0x10, 0x01, 0x00, 0x07},
        std::vector<uint8_t>{0x10, 0x00, 0x00, 0x00}}) {
    StreamAssembler a;
    EXPECT_FALSE(a.Feed(bad, [](absl::Span<const uint8_t>) {}).ok());
    // Also when the bad header arrives split.
    StreamAssembler b;
    EXPECT_TRUE(b.Feed(absl::MakeConstSpan(bad.data(), 2), [](absl::Span<const uint8_t>) {}).ok());
    EXPECT_FALSE(
        b.Feed(absl::MakeConstSpan(bad.data() + 2, 2), [](absl::Span<const uint8_t>) {}).ok());
  }
}

}  // namespace
}  // namespace sstp
