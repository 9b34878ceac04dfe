// Traffic keys handed from OpenSSL's handshake to the project's record layer, and the key
// derivations needed to get them and to update them:
//   TLS 1.3: RFC 8446 7.1 HKDF-Expand-Label; 7.3 traffic key and IV from a traffic secret; 7.2
//            next-generation secret for KeyUpdate.
//   TLS 1.2: RFC 5246 6.3 key block from the master secret (PRF, "key expansion"); RFC 5288 3
//   AES-GCM
//            4-byte implicit salt; RFC 7905 2 ChaCha20-Poly1305 12-byte IV.
#ifndef TLS_KEY_SCHEDULE_H_
#define TLS_KEY_SCHEDULE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "tls/lcore_crypto.h"

namespace tls {

enum class Version : uint16_t { kTls12 = 0x0303, kTls13 = 0x0304 };

// The AEADs the record layer implements on ipsec-mb.
enum class Cipher : uint8_t { kAes128Gcm, kAes256Gcm, kChaCha20Poly1305 };

const char* CipherName(Cipher c);
size_t KeyLength(Cipher c);  // 16 or 32
// TLS 1.3 hash of the suite: SHA384 for AES-256-GCM, SHA256 otherwise (RFC 8446 B.4). TLS 1.2
// AEAD suites use the same PRF hashes (RFC 5288 3, RFC 7905 2).
size_t HashLength(Cipher c);  // 32 or 48

// Key material for one direction of a connection.
struct TrafficKeys {
  uint8_t key[32] = {};
  // TLS 1.3 and TLS 1.2 ChaCha20: the 12-byte IV XORed with the sequence number.
  // TLS 1.2 AES-GCM: the first 4 bytes are the implicit salt.
  uint8_t iv[12] = {};
  // TLS 1.3 only: the current application traffic secret, kept for KeyUpdate.
  uint8_t secret[48] = {};
  uint64_t seq = 0;  // sequence number of the next record in this direction
};

struct SessionKeys {
  Version version = Version::kTls13;
  bool server = false;  // which end of the connection these keys belong to
  Cipher cipher = Cipher::kAes128Gcm;
  TrafficKeys read;
  TrafficKeys write;
};

// Overwrites key material (OPENSSL_cleanse, so the compiler cannot drop it).
void Wipe(SessionKeys& keys);
void Wipe(TrafficKeys& keys);

// RFC 8446 7.1: HKDF-Expand-Label(secret, label, context, out.size()) with the "tls13 " prefix.
absl::Status HkdfExpandLabel(LcoreCrypto& lc, Cipher cipher, absl::Span<const uint8_t> secret,
                             const char* label, absl::Span<const uint8_t> context,
                             absl::Span<uint8_t> out);

// RFC 8446 7.3: fills keys.key and keys.iv from keys.secret (which must hold HashLength bytes).
absl::Status DeriveTls13TrafficKeys(LcoreCrypto& lc, Cipher cipher, TrafficKeys& keys);

// RFC 8446 7.2: secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length); then the
// key and IV are rederived and the sequence number restarts at 0.
absl::Status UpdateTls13TrafficKeys(LcoreCrypto& lc, Cipher cipher, TrafficKeys& keys);

// RFC 5246 5: PRF(secret, label, seed) with the suite's hash.
absl::Status Tls12Prf(LcoreCrypto& lc, Cipher cipher, absl::Span<const uint8_t> secret,
                      const char* label, absl::Span<const uint8_t> seed, absl::Span<uint8_t> out);

// RFC 5246 6.3: key block from the master secret and the two hello randoms; fills the client and
// server write keys (no MAC keys for AEAD suites). Sequence numbers are left as they are.
absl::Status DeriveTls12Keys(LcoreCrypto& lc, Cipher cipher,
                             absl::Span<const uint8_t> master_secret,
                             absl::Span<const uint8_t> client_random,
                             absl::Span<const uint8_t> server_random, TrafficKeys& client_write,
                             TrafficKeys& server_write);

}  // namespace tls

#endif  // TLS_KEY_SCHEDULE_H_
