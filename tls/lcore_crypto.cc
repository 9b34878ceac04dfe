#include "tls/lcore_crypto.h"

#include <openssl/core_names.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tls {

absl::StatusOr<std::unique_ptr<LcoreCrypto>> LcoreCrypto::Create() {
  std::unique_ptr<LcoreCrypto> c(new LcoreCrypto());
  c->libctx_ = OSSL_LIB_CTX_new();
  if (c->libctx_ == nullptr) return absl::ResourceExhaustedError("OSSL_LIB_CTX_new failed");
  c->provider_ = OSSL_PROVIDER_load(c->libctx_, "default");
  if (c->provider_ == nullptr) {
    return absl::InternalError("cannot load OpenSSL's default provider (is libssl3 installed?)");
  }
  c->hmac_ = EVP_MAC_fetch(c->libctx_, "HMAC", nullptr);
  c->sha256_ = EVP_MD_fetch(c->libctx_, "SHA256", nullptr);
  c->sha384_ = EVP_MD_fetch(c->libctx_, "SHA384", nullptr);
  c->sha1_ = EVP_MD_fetch(c->libctx_, "SHA1", nullptr);
  if (!c->hmac_ || !c->sha256_ || !c->sha384_ || !c->sha1_) {
    return absl::InternalError("OpenSSL default provider lacks HMAC, SHA1 or SHA2");
  }
  for (auto [ctx, name] : {std::pair{&c->hmac_sha256_, "SHA256"}, {&c->hmac_sha384_, "SHA384"}}) {
    *ctx = EVP_MAC_CTX_new(c->hmac_);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(name), 0),
        OSSL_PARAM_construct_end(),
    };
    if (*ctx == nullptr || EVP_MAC_CTX_set_params(*ctx, params) != 1) {
      return absl::InternalError("cannot set up HMAC contexts");
    }
  }
  c->mb_ = alloc_mb_mgr(0);
  if (c->mb_ == nullptr) return absl::ResourceExhaustedError("ipsec-mb alloc_mb_mgr failed");
  IMB_ARCH arch;
  init_mb_mgr_auto(c->mb_, &arch);
  if (imb_get_errno(c->mb_) != 0) {
    return absl::InternalError(
        absl::StrCat("ipsec-mb init failed: ", imb_get_strerror(imb_get_errno(c->mb_))));
  }
  return c;
}

LcoreCrypto::~LcoreCrypto() {
  if (mb_) free_mb_mgr(mb_);
  EVP_MAC_CTX_free(hmac_sha256_);
  EVP_MAC_CTX_free(hmac_sha384_);
  EVP_MAC_free(hmac_);
  EVP_MD_free(sha256_);
  EVP_MD_free(sha384_);
  EVP_MD_free(sha1_);
  if (provider_) OSSL_PROVIDER_unload(provider_);
  OSSL_LIB_CTX_free(libctx_);
}

const char* LcoreCrypto::arch_name() const {
  switch (mb_->used_arch) {
    case IMB_ARCH_NOAESNI:
      return "noaesni";
    case IMB_ARCH_SSE:
      return "sse";
    case IMB_ARCH_AVX:
      return "avx";
    case IMB_ARCH_AVX2:
      return "avx2";
    case IMB_ARCH_AVX512:
      return "avx512";
    default:
      return "none";
  }
}

}  // namespace tls
