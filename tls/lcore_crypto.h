// Per-lcore (per-thread) crypto state shared by every TLS session that lcore owns.
//
// OpenSSL 3.0 loses much of its speed to lock contention on the shared library context and to
// repeated algorithm fetches, so each lcore gets its own OSSL_LIB_CTX with the algorithms the
// handshake and key handover need fetched once. The ipsec-mb manager (about 200 KB) and the
// per-operation AEAD scratch contexts also live here: they are needed only for the duration of one
// Seal/Open call, so no session pays for them.
//
// Not thread-safe: one LcoreCrypto per thread, used only by that thread.
#ifndef TLS_LCORE_CRYPTO_H_
#define TLS_LCORE_CRYPTO_H_

#include <intel-ipsec-mb.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include <memory>

#include "absl/status/statusor.h"

namespace tls {

class LcoreCrypto {
 public:
  static absl::StatusOr<std::unique_ptr<LcoreCrypto>> Create();
  ~LcoreCrypto();
  LcoreCrypto(const LcoreCrypto&) = delete;
  LcoreCrypto& operator=(const LcoreCrypto&) = delete;

  OSSL_LIB_CTX* libctx() const { return libctx_; }
  IMB_MGR* mb() const { return mb_; }
  // HMAC contexts with their digest fetched and set once; re-keyed per use with EVP_MAC_init.
  // They carry the key schedule (HKDF-Expand-Label, the TLS 1.2 PRF) without a fetch per call.
  EVP_MAC_CTX* hmac_sha256() const { return hmac_sha256_; }
  EVP_MAC_CTX* hmac_sha384() const { return hmac_sha384_; }
  // "SHA256" or "SHA384" digest fetched in this lcore's library context.
  const EVP_MD* sha256() const { return sha256_; }
  const EVP_MD* sha384() const { return sha384_; }
  const EVP_MD* sha1() const { return sha1_; }

  // Scratch state for one AEAD operation at a time.
  gcm_context_data* gcm_scratch() { return &gcm_ctx_; }
  chacha20_poly1305_context_data* chacha_scratch() { return &chacha_ctx_; }

  // Which ipsec-mb code path was selected for this CPU ("avx512", "avx2", "sse", ...).
  const char* arch_name() const;

 private:
  LcoreCrypto() = default;

  OSSL_LIB_CTX* libctx_ = nullptr;
  OSSL_PROVIDER* provider_ = nullptr;
  IMB_MGR* mb_ = nullptr;
  EVP_MAC* hmac_ = nullptr;
  EVP_MAC_CTX* hmac_sha256_ = nullptr;
  EVP_MAC_CTX* hmac_sha384_ = nullptr;
  EVP_MD* sha256_ = nullptr;
  EVP_MD* sha384_ = nullptr;
  EVP_MD* sha1_ = nullptr;
  alignas(64) gcm_context_data gcm_ctx_;
  alignas(64) chacha20_poly1305_context_data chacha_ctx_;
};

}  // namespace tls

#endif  // TLS_LCORE_CRYPTO_H_
