#include "tls/key_schedule.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <initializer_list>

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

// HMAC(key, parts...) with the suite's hash into out (HashLength bytes).
bool Hmac(LcoreCrypto& lc, Cipher c, absl::Span<const uint8_t> key,
          std::initializer_list<absl::Span<const uint8_t>> parts, uint8_t* out) {
  EVP_MAC_CTX* ctx = c == Cipher::kAes256Gcm ? lc.hmac_sha384() : lc.hmac_sha256();
  if (EVP_MAC_init(ctx, key.data(), key.size(), nullptr) != 1) return false;
  for (const auto& p : parts) {
    if (!p.empty() && EVP_MAC_update(ctx, p.data(), p.size()) != 1) return false;
  }
  size_t n = 0;
  return EVP_MAC_final(ctx, out, &n, 64) == 1 && n == HashLength(c);
}

}  // namespace

absl::Status HkdfExpandLabel(LcoreCrypto& lc, Cipher cipher, absl::Span<const uint8_t> secret,
                             const char* label, absl::Span<const uint8_t> context,
                             absl::Span<uint8_t> out) {
  // struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; }
  uint8_t info[2 + 1 + 255 + 1 + 255];
  size_t label_len = std::strlen(label);
  if (label_len + 6 > 255 || context.size() > 255 || out.size() > 255 * HashLength(cipher)) {
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

  // RFC 5869 2.3: T(i) = HMAC(PRK, T(i-1) | info | i).
  const size_t hl = HashLength(cipher);
  uint8_t t[64];
  size_t t_len = 0;
  size_t done = 0;
  for (uint8_t i = 1; done < out.size(); ++i) {
    if (!Hmac(lc, cipher, secret,
              {absl::Span<const uint8_t>(t, t_len), absl::Span<const uint8_t>(info, n),
               absl::Span<const uint8_t>(&i, 1)},
              t)) {
      return absl::InternalError("HMAC failed in HKDF-Expand-Label");
    }
    t_len = hl;
    size_t take = out.size() - done < hl ? out.size() - done : hl;
    std::memcpy(out.data() + done, t, take);
    done += take;
  }
  OPENSSL_cleanse(t, sizeof(t));
  OPENSSL_cleanse(info, sizeof(info));
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
  // RFC 5246 5: P_hash(secret, label + seed), A(0) = label + seed, A(i) = HMAC(secret, A(i-1)),
  // output = HMAC(secret, A(1) + label + seed) | HMAC(secret, A(2) + label + seed) | ...
  const absl::Span<const uint8_t> l(reinterpret_cast<const uint8_t*>(label), std::strlen(label));
  const size_t hl = HashLength(cipher);
  uint8_t a[64];
  uint8_t block[64];
  if (!Hmac(lc, cipher, secret, {l, seed}, a)) return absl::InternalError("TLS 1.2 PRF failed");
  size_t done = 0;
  while (done < out.size()) {
    if (!Hmac(lc, cipher, secret, {absl::Span<const uint8_t>(a, hl), l, seed}, block) ||
        !Hmac(lc, cipher, secret, {absl::Span<const uint8_t>(a, hl)}, a)) {
      return absl::InternalError("TLS 1.2 PRF failed");
    }
    size_t take = out.size() - done < hl ? out.size() - done : hl;
    std::memcpy(out.data() + done, block, take);
    done += take;
  }
  OPENSSL_cleanse(a, sizeof(a));
  OPENSSL_cleanse(block, sizeof(block));
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
