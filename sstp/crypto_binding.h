// SSTP crypto binding (MS-SSTP 3.2.5.2): binds the TLS server certificate and the PPP
// authentication keys so a man in the middle cannot relay PPP from another medium.
#ifndef SSTP_CRYPTO_BINDING_H_
#define SSTP_CRYPTO_BINDING_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "sstp/packet.h"

namespace sstp {

// Higher-Layer Authentication Key: always 32 bytes (MS-SSTP 3.2.5.2.2 / 3.2.5.2.4).
using Hlak = std::array<uint8_t, 32>;

// MS-CHAPv2 (RFC 3079 section 3 master keys, 16 bytes each):
//   SSTP server HLAK = MasterReceiveKey | MasterSendKey,
//   SSTP client HLAK = MasterSendKey | MasterReceiveKey,
// where each side uses its own send/receive keys (so both sides end up with the same HLAK).
Hlak ServerHlakFromMppe(absl::Span<const uint8_t> master_send_key,
                        absl::Span<const uint8_t> master_receive_key);
Hlak ClientHlakFromMppe(absl::Span<const uint8_t> master_send_key,
                        absl::Span<const uint8_t> master_receive_key);
// Methods that produce no keys (PAP, CHAP, MS-CHAPv1 here): 32 zero bytes.
inline Hlak ZeroHlak() { return Hlak{}; }

// Digest size of a single hash protocol (kHashProtocolSha1: 20, kHashProtocolSha256: 32).
size_t DigestSize(uint8_t hash_protocol);
// Strongest protocol in a bitmask we support (SHA256 over SHA1), or 0 if none.
uint8_t ChooseHashProtocol(uint8_t bitmask);

// Hash of the server's leaf certificate (DER), padded with zeros to 32 bytes for SHA1.
absl::StatusOr<HashField> CertificateHash(uint8_t hash_protocol, absl::Span<const uint8_t> der);

// CMK = HMAC(HLAK, "SSTP inner method derived CMK" | LEN (16-bit little endian) | 0x01), the
// first block of the PRF+ in MS-SSTP 3.2.5.2.2/3.2.5.2.4. Returned padded to 32 bytes.
HashField DeriveCmk(uint8_t hash_protocol, const Hlak& hlak);

// Compound MAC = HMAC(CMK, the 112-byte CALL_CONNECTED with its Compound MAC field zeroed).
// `call_connected` may hold the MAC; it is zeroed in a copy. Returned padded to 32 bytes.
HashField ComputeCompoundMac(uint8_t hash_protocol, const HashField& cmk,
                             absl::Span<const uint8_t> call_connected);

// Builds the client's CALL_CONNECTED: hash protocol, the server's nonce, the server cert hash
// (padded), and the Compound MAC computed with the client's HLAK.
ControlPacket BuildCallConnected(uint8_t hash_protocol, const Nonce& nonce,
                                 const HashField& cert_hash, const Hlak& hlak);

// What the server expects of a CALL_CONNECTED.
struct BindingExpectation {
  uint8_t offered_hash_protocols = kHashProtocolSha1 | kHashProtocolSha256;
  Nonce nonce{};
  HashField cert_hash_sha1{};  // padded
  HashField cert_hash_sha256{};
};

// Result of a failed check: the Status Info to put into the CALL_ABORT and why.
struct BindingFailure {
  StatusCode status = StatusCode::kNoError;
  AttributeId attribute = AttributeId::kCryptoBinding;
  std::string reason;
};

// Verifies a parsed CALL_CONNECTED (MS-SSTP 3.3.5.2.3): hash protocol offered and single, nonce,
// certificate hash for that protocol, and Compound MAC (constant-time compare). `raw` is the
// 112-byte message as received. Returns true when valid; otherwise fills `failure`.
bool VerifyCallConnected(const BindingExpectation& expect, const CryptoBinding& binding,
                         absl::Span<const uint8_t> raw, const Hlak& hlak, BindingFailure* failure);

}  // namespace sstp

#endif  // SSTP_CRYPTO_BINDING_H_
