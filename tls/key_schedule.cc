#include "tls/key_schedule.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

#include <cstring>
#include <string>

namespace tls {

const char* CipherName(Cipher c) {
  switch (c) {
    case Cipher::kAes128Gcm:
      return "AES-128-GCM";
    case Cipher::kAes256Gcm:
      return "AES-256-GCM";
    case Cipher::kChaCha20Poly1305:
      return "CHACHA20-POLY1305";
  }
  return "?";
}

size_t KeyLength(Cipher c) { return c == Cipher::kAes128Gcm ? 16 : 32; }
size_t HashLength(Cipher c) { return c == Cipher::kAes256Gcm ? 48 : 32; }

void Wipe(TrafficKeys& keys) { OPENSSL_cleanse(&keys, sizeof(keys)); }
void Wipe(SessionKeys& keys) {
  Wipe(keys.read);
  Wipe(keys.write);
}

namespace {

const char* DigestName(Cipher c) { return c == Cipher::kAes256Gcm ? "SHA384" : "SHA256"; }

}  // namespace

absl::Status HkdfExpandLabel(LcoreCrypto& lc, Cipher cipher, absl::Span<const uint8_t> secret,
                             const char* label, absl::Span<const uint8_t> context,
                             absl::Span<uint8_t> out) {
  // struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; }
  uint8_t info[2 + 1 + 255 + 1 + 255];
  size_t label_len = std::strlen(label);
  if (label_len + 6 > 255 || context.size() > 255 || out.size() > 0xffff) {
    return absl::InvalidArgumentError("HKDF-Expand-Label argument too long");
  }
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out.size() >> 8);
  info[n++] = static_cast<uint8_t>(out.size());
  info[n++] = static_cast<uint8_t>(6 + label_len);
  std::memcpy(info + n, "tls13 ", 6);
  n += 6;
  std::memcpy(info + n, label, label_len);
  n += label_len;
  info[n++] = static_cast<uint8_t>(context.size());
  if (!context.empty()) std::memcpy(info + n, context.data(), context.size());
  n += context.size();

  EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(lc.hkdf());
  if (kctx == nullptr) return absl::ResourceExhaustedError("EVP_KDF_CTX_new failed");
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(DigestName(cipher)),
                                       0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
      OSSL_PARAM_construct_end(),
  };
  int ok = EVP_KDF_derive(kctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(kctx);
  OPENSSL_cleanse(info, sizeof(info));
  if (ok != 1) return absl::InternalError("HKDF-Expand-Label failed");
  return absl::OkStatus();
}

absl::Status DeriveTls13TrafficKeys(LcoreCrypto& lc, Cipher cipher, TrafficKeys& keys) {
  absl::Span<const uint8_t> secret(keys.secret, HashLength(cipher));
  absl::Status s = HkdfExpandLabel(lc, cipher, secret, "key", {},
                                   absl::Span<uint8_t>(keys.key, KeyLength(cipher)));
  if (!s.ok()) return s;
  return HkdfExpandLabel(lc, cipher, secret, "iv", {}, absl::Span<uint8_t>(keys.iv, 12));
}

absl::Status UpdateTls13TrafficKeys(LcoreCrypto& lc, Cipher cipher, TrafficKeys& keys) {
  uint8_t next[48];
  size_t hl = HashLength(cipher);
  absl::Status s = HkdfExpandLabel(lc, cipher, absl::Span<const uint8_t>(keys.secret, hl),
                                   "traffic upd", {}, absl::Span<uint8_t>(next, hl));
  if (!s.ok()) return s;
  std::memcpy(keys.secret, next, hl);
  OPENSSL_cleanse(next, sizeof(next));
  keys.seq = 0;
  return DeriveTls13TrafficKeys(lc, cipher, keys);
}

absl::Status Tls12Prf(LcoreCrypto& lc, Cipher cipher, absl::Span<const uint8_t> secret,
                      const char* label, absl::Span<const uint8_t> seed, absl::Span<uint8_t> out) {
  std::string full_seed(label);
  full_seed.append(reinterpret_cast<const char*>(seed.data()), seed.size());
  EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(lc.tls1_prf());
  if (kctx == nullptr) return absl::ResourceExhaustedError("EVP_KDF_CTX_new failed");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(DigestName(cipher)),
                                       0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, const_cast<uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, full_seed.data(), full_seed.size()),
      OSSL_PARAM_construct_end(),
  };
  int ok = EVP_KDF_derive(kctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(kctx);
  if (ok != 1) return absl::InternalError("TLS 1.2 PRF failed");
  return absl::OkStatus();
}

absl::Status DeriveTls12Keys(LcoreCrypto& lc, Cipher cipher,
                             absl::Span<const uint8_t> master_secret,
                             absl::Span<const uint8_t> client_random,
                             absl::Span<const uint8_t> server_random, TrafficKeys& client_write,
                             TrafficKeys& server_write) {
  if (client_random.size() != 32 || server_random.size() != 32) {
    return absl::InvalidArgumentError("TLS 1.2 hello randoms must be 32 bytes");
  }
  // RFC 5246 6.3: seed = server_random + client_random. AEAD suites have no MAC keys; the "IV"
  // is the 4-byte salt for AES-GCM (RFC 5288 3) and 12 bytes for ChaCha20 (RFC 7905 2).
  uint8_t seed[64];
  std::memcpy(seed, server_random.data(), 32);
  std::memcpy(seed + 32, client_random.data(), 32);
  size_t kl = KeyLength(cipher);
  size_t ivl = cipher == Cipher::kChaCha20Poly1305 ? 12 : 4;
  uint8_t block[2 * 32 + 2 * 12];
  absl::Status s = Tls12Prf(lc, cipher, master_secret, "key expansion", seed,
                            absl::Span<uint8_t>(block, 2 * kl + 2 * ivl));
  if (!s.ok()) return s;
  std::memcpy(client_write.key, block, kl);
  std::memcpy(server_write.key, block + kl, kl);
  std::memset(client_write.iv, 0, 12);
  std::memset(server_write.iv, 0, 12);
  std::memcpy(client_write.iv, block + 2 * kl, ivl);
  std::memcpy(server_write.iv, block + 2 * kl + ivl, ivl);
  OPENSSL_cleanse(block, sizeof(block));
  return absl::OkStatus();
}

}  // namespace tls
