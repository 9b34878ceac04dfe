// The TLS 1.2 / TLS 1.3 record layer for AEAD suites on Intel ipsec-mb, after OpenSSL's handshake
// has handed over the traffic keys (tls/handshake.h).
//
// Records are encrypted and decrypted IN PLACE over scatter lists (tls/segments.h): a record may
// span any number of buffers, and no payload byte is copied. The per-session state is one
// RecordSession (about 2.2 KiB, most of it the two expanded AES-GCM key schedules with their GHASH
// tables); everything needed only during one operation lives in the per-lcore LcoreCrypto.
//
// Formats:
//   TLS 1.2 AES-GCM (RFC 5288): header(5) | explicit nonce(8) | ciphertext | tag(16);
//     nonce = salt(4) | explicit(8); AAD = seq(8) | type | version | plaintext length.
//   TLS 1.2 ChaCha20-Poly1305 (RFC 7905): header(5) | ciphertext | tag(16); nonce = iv ^ seq.
//   TLS 1.3 (RFC 8446 5.2): header(5, type 23) | enc(content | inner type | zero padding) |
//   tag(16);
//     nonce = iv ^ seq; AAD = the record header.
#ifndef TLS_RECORD_H_
#define TLS_RECORD_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "tls/key_schedule.h"
#include "tls/lcore_crypto.h"
#include "tls/segments.h"

namespace tls {

// RFC 8446 5.1 / RFC 5246 6.2.1.
enum class ContentType : uint8_t {
  kInvalid = 0,
  kChangeCipherSpec = 20,
  kAlert = 21,
  kHandshake = 22,
  kApplicationData = 23,
};

// RFC 8446 6 / RFC 5246 7.2.
enum class AlertDescription : uint8_t {
  kCloseNotify = 0,
  kUnexpectedMessage = 10,
  kBadRecordMac = 20,
  kRecordOverflow = 22,
  kHandshakeFailure = 40,
  kBadCertificate = 42,
  kUnsupportedCertificate = 43,
  kCertificateRevoked = 44,
  kCertificateExpired = 45,
  kCertificateUnknown = 46,
  kIllegalParameter = 47,
  kUnknownCa = 48,
  kAccessDenied = 49,
  kDecodeError = 50,
  kDecryptError = 51,
  kProtocolVersion = 70,
  kInsufficientSecurity = 71,
  kInternalError = 80,
  kInappropriateFallback = 86,
  kUserCanceled = 90,
  kNoRenegotiation = 100,
  kMissingExtension = 109,
  kUnsupportedExtension = 110,
  kUnrecognizedName = 112,
  kBadCertificateStatusResponse = 113,
  kUnknownPskIdentity = 115,
  kCertificateRequired = 116,
  kNoApplicationProtocol = 120,
};

const char* AlertName(AlertDescription a);

inline constexpr size_t kRecordHeaderLength = 5;
inline constexpr size_t kTagLength = 16;
inline constexpr size_t kMaxPlaintext = 16384;  // 2^14, RFC 8446 5.1 / RFC 5246 6.2.1
// Largest TLSCiphertext.length accepted: 2^14 + 256 (RFC 8446 5.2), 2^14 + 2048 (RFC 5246 6.2.3).
inline constexpr size_t kMaxCiphertext13 = kMaxPlaintext + 256;
inline constexpr size_t kMaxCiphertext12 = kMaxPlaintext + 2048;
// TLS 1.3 records sent before a KeyUpdate is forced (RFC 8446 5.5: AES-GCM may protect at most
// 2^24.5 full-size records per key; we stay well under).
inline constexpr uint64_t kKeyUpdateAfterRecords = uint64_t{1} << 23;

enum class OpenStatus : uint8_t {
  // No complete record at the head of the stream yet. Nothing consumed; `record_len` is the full
  // record length once the header is available (0 before), so the caller knows how much to wait
  // for.
  kNeedMore,
  // An application_data record: plaintext is at stream bytes [data_offset, data_offset + data_len).
  // The caller consumes record_len bytes after it is done with the plaintext.
  kData,
  // A record handled inside the record layer (TLS 1.3 KeyUpdate or NewSessionTicket, TLS 1.2
  // HelloRequest, a warning alert). Consume record_len bytes, then check HasPendingOutput().
  kControl,
  // The peer sent close_notify. Our own close_notify is queued (HasPendingOutput()); send it, then
  // close the transport. Data after it is ignored (RFC 8446 6.1).
  kCloseNotify,
  // The peer sent a fatal alert (`alert`). The connection is dead; send nothing more.
  kPeerAlert,
  // The input violated the protocol or failed authentication. A fatal alert (`alert`) is queued
  // in the pending output: send it, then close the transport.
  kError,
};

struct OpenResult {
  OpenStatus status = OpenStatus::kNeedMore;
  AlertDescription alert = AlertDescription::kCloseNotify;
  size_t record_len = 0;   // bytes of the stream this record occupies (header included)
  size_t data_offset = 0;  // kData: plaintext position in the stream
  size_t data_len = 0;
};

class alignas(64) RecordSession {
 public:
  RecordSession() = default;
  ~RecordSession();
  RecordSession(const RecordSession&) = delete;
  RecordSession& operator=(const RecordSession&) = delete;

  // Takes the handed-over keys (and their sequence numbers). The raw key bytes in `keys` are not
  // wiped here: the caller owns them (tls::Wipe).
  absl::Status Init(LcoreCrypto& lc, const SessionKeys& keys);

  Version version() const { return version_; }
  Cipher cipher() const { return cipher_; }
  uint64_t read_seq() const { return read_seq_; }
  uint64_t write_seq() const { return write_seq_; }
  bool write_closed() const { return (flags_ & kWriteClosed) != 0; }
  bool read_closed() const { return (flags_ & kReadClosed) != 0; }

  // Bytes before the payload (header + explicit nonce) and after it (inner type + tag) in a
  // record this session seals: 5 / 17 for TLS 1.3, 13 / 16 for TLS 1.2 AES-GCM, 5 / 16 for TLS 1.2
  // ChaCha20-Poly1305.
  size_t header_len() const { return header_len_; }
  size_t trailer_len() const { return trailer_len_; }
  size_t overhead() const { return header_len_ + trailer_len_; }

  // Seals one record in place. `record` holds header_len() free bytes, then the payload (at most
  // kMaxPlaintext bytes), then trailer_len() free bytes; its total length fixes the payload length.
  // Writes the header and trailer, encrypts the payload in place, and advances the write sequence.
  absl::Status Seal(LcoreCrypto& lc, ContentType type, Segments record);

  // Convenience for contiguous buffers: `out` must hold header_len() + payload + trailer_len();
  // the payload is copied to its place first. Returns the record length.
  absl::StatusOr<size_t> SealCopy(LcoreCrypto& lc, ContentType type,
                                  absl::Span<const uint8_t> payload, absl::Span<uint8_t> out);

  // Parses and opens the record at the head of `stream` (which may hold less than one record, or
  // more). Decrypts in place; see OpenStatus for what to do next.
  OpenResult Open(LcoreCrypto& lc, Segments stream);

  // Records the record layer itself must send: a response KeyUpdate, close_notify, a fatal alert.
  // Send them (in the order they are produced, before anything sealed later) as soon as possible.
  bool HasPendingOutput() const { return pending_ != 0; }
  // Upper bound of the bytes SealPendingOutput writes.
  static constexpr size_t kMaxPendingOutput = 3 * (kRecordHeaderLength + 8 + 5 + 1 + kTagLength);
  // Seals the pending records into `out` and returns the number of bytes written.
  absl::StatusOr<size_t> SealPendingOutput(LcoreCrypto& lc, absl::Span<uint8_t> out);

  // TLS 1.3: queue a KeyUpdate for our write direction; with `request_peer`, ask the peer to
  // update its own (RFC 8446 4.6.3).
  absl::Status RequestKeyUpdate(bool request_peer);
  // Queue close_notify (RFC 8446 6.1); nothing can be sealed after it.
  void Close();

 private:
  enum Flags : uint8_t {
    kReadClosed = 1,
    kWriteClosed = 2,
    kDead = 4,  // fatal alert sent or received
  };
  enum Pending : uint8_t {
    kPendingKeyUpdate = 1,         // our KeyUpdate, update_not_requested
    kPendingKeyUpdateRequest = 2,  // our KeyUpdate, update_requested
    kPendingCloseNotify = 4,
    kPendingFatalAlert = 8,
  };

  // Key schedule for one direction: AES-GCM expanded keys + GHASH tables, or the raw ChaCha20 key.
  union alignas(64) DirectionKey {
    gcm_key_data gcm;
    uint8_t chacha[32];
  };

  void ExpandKey(LcoreCrypto& lc, const uint8_t* key, DirectionKey& out);
  void Nonce(const uint8_t* iv, uint64_t seq, uint8_t out[12]) const;
  OpenResult Fail(OpenResult r, AlertDescription a);
  OpenResult HandleHandshake(LcoreCrypto& lc, Segments stream, size_t off, size_t len,
                             OpenResult r);
  OpenResult HandleAlert(Segments stream, size_t off, size_t len, OpenResult r);
  absl::Status SealInternal(LcoreCrypto& lc, ContentType type, Segments record, bool control);
  absl::Status UpdateWriteKey(LcoreCrypto& lc);

  DirectionKey read_key_;
  DirectionKey write_key_;
  uint64_t read_seq_ = 0;
  uint64_t write_seq_ = 0;
  uint8_t read_iv_[12] = {};
  uint8_t write_iv_[12] = {};
  uint8_t read_secret_[48] = {};  // TLS 1.3 only: for KeyUpdate
  uint8_t write_secret_[48] = {};
  Version version_ = Version::kTls13;
  Cipher cipher_ = Cipher::kAes128Gcm;
  bool server_ = false;
  uint8_t header_len_ = 0;
  uint8_t trailer_len_ = 0;
  uint8_t flags_ = 0;
  uint8_t pending_ = 0;
  AlertDescription pending_alert_ = AlertDescription::kCloseNotify;
  uint8_t warning_alerts_ = 0;  // consecutive warning alerts / control records (DoS bound)
  // TLS 1.3 post-handshake messages may straddle records: the header bytes gathered so far and
  // how much of the current message's body remains.
  uint8_t hs_header_[4] = {};
  uint8_t hs_header_len_ = 0;
  uint8_t hs_type_ = 0;
  uint32_t hs_remaining_ = 0;
};

}  // namespace tls

#endif  // TLS_RECORD_H_
