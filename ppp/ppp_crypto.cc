#include "ppp/ppp_crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

namespace ppp {
namespace {

std::string OpensslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no OpenSSL error queued" : out;
}

// The private library context with everything fetched once. Never freed: it lives as long as the
// process, and engines on any thread may use it at any time.
struct Context {
  OSSL_LIB_CTX* libctx = nullptr;
  OSSL_PROVIDER* legacy = nullptr;
  OSSL_PROVIDER* deflt = nullptr;
  EVP_MD* md4 = nullptr;
  EVP_MD* md5 = nullptr;
  EVP_MD* sha1 = nullptr;
  EVP_CIPHER* des_ecb = nullptr;
  EVP_CIPHER* rc4 = nullptr;
  absl::Status status;
};

const Context& Ctx() {
  static const Context* const ctx = [] {
    auto* c = new Context;
    c->libctx = OSSL_LIB_CTX_new();
    if (c->libctx == nullptr) {
      c->status = absl::InternalError(
          absl::StrCat("ppp crypto: OSSL_LIB_CTX_new failed: ", OpensslErrors()));
      return c;
    }
    c->deflt = OSSL_PROVIDER_load(c->libctx, "default");
    if (c->deflt == nullptr) {
      c->status = absl::FailedPreconditionError(
          absl::StrCat("ppp crypto: cannot load OpenSSL's default provider: ", OpensslErrors()));
      return c;
    }
    c->legacy = OSSL_PROVIDER_load(c->libctx, "legacy");
    if (c->legacy == nullptr) {
      c->status = absl::FailedPreconditionError(absl::StrCat(
          "ppp crypto: cannot load OpenSSL's legacy provider (MD4 and DES for MS-CHAP live "
          "there; is ossl-modules/legacy.so from libssl3 installed?): ",
          OpensslErrors()));
      return c;
    }
    struct {
      const char* name;
      EVP_MD** md;
    } mds[] = {{"MD4", &c->md4}, {"MD5", &c->md5}, {"SHA1", &c->sha1}};
    for (auto& m : mds) {
      *m.md = EVP_MD_fetch(c->libctx, m.name, nullptr);
      if (*m.md == nullptr) {
        c->status = absl::FailedPreconditionError(
            absl::StrCat("ppp crypto: digest ", m.name, " unavailable: ", OpensslErrors()));
        return c;
      }
    }
    c->des_ecb = EVP_CIPHER_fetch(c->libctx, "DES-ECB", nullptr);
    c->rc4 = EVP_CIPHER_fetch(c->libctx, "RC4", nullptr);
    if (c->des_ecb == nullptr || c->rc4 == nullptr) {
      c->status = absl::FailedPreconditionError(
          absl::StrCat("ppp crypto: cipher DES-ECB or RC4 unavailable in the legacy provider: ",
                       OpensslErrors()));
      return c;
    }
    return c;
  }();
  return *ctx;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> Digest(
    EVP_MD* md, const char* name, std::initializer_list<absl::Span<const uint8_t>> parts) {
  const Context& c = Ctx();
  if (!c.status.ok()) return c.status;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> mctx(EVP_MD_CTX_new());
  if (!mctx || EVP_DigestInit_ex2(mctx.get(), md, nullptr) != 1) {
    return absl::InternalError(absl::StrCat("ppp crypto: ", name, " init: ", OpensslErrors()));
  }
  for (absl::Span<const uint8_t> p : parts) {
    if (!p.empty() && EVP_DigestUpdate(mctx.get(), p.data(), p.size()) != 1) {
      return absl::InternalError(absl::StrCat("ppp crypto: ", name, " update: ", OpensslErrors()));
    }
  }
  std::array<uint8_t, N> out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(mctx.get(), out.data(), &len) != 1 || len != N) {
    return absl::InternalError(absl::StrCat("ppp crypto: ", name, " final: ", OpensslErrors()));
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> Cipher(EVP_CIPHER* cipher, const char* name,
                                            absl::Span<const uint8_t> key,
                                            absl::Span<const uint8_t> data) {
  const Context& c = Ctx();
  if (!c.status.ok()) return c.status;
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> cctx(EVP_CIPHER_CTX_new());
  if (!cctx || EVP_EncryptInit_ex2(cctx.get(), cipher, nullptr, nullptr, nullptr) != 1) {
    return absl::InternalError(absl::StrCat("ppp crypto: ", name, " init: ", OpensslErrors()));
  }
  // RC4 takes a variable key length; DES has its fixed 8 bytes.
  if (static_cast<int>(key.size()) != EVP_CIPHER_CTX_get_key_length(cctx.get()) &&
      EVP_CIPHER_CTX_set_key_length(cctx.get(), static_cast<int>(key.size())) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("ppp crypto: ", name, " does not take a ", key.size(), "-byte key"));
  }
  if (EVP_EncryptInit_ex2(cctx.get(), nullptr, key.data(), nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(cctx.get(), 0) != 1) {
    return absl::InternalError(absl::StrCat("ppp crypto: ", name, " key: ", OpensslErrors()));
  }
  std::vector<uint8_t> out(data.size() + 16);
  int n = 0, fin = 0;
  if (EVP_EncryptUpdate(cctx.get(), out.data(), &n, data.data(), static_cast<int>(data.size())) !=
          1 ||
      EVP_EncryptFinal_ex(cctx.get(), out.data() + n, &fin) != 1) {
    return absl::InternalError(absl::StrCat("ppp crypto: ", name, " encrypt: ", OpensslErrors()));
  }
  out.resize(static_cast<size_t>(n + fin));
  return out;
}

}  // namespace

absl::Status PppCryptoStatus() { return Ctx().status; }

absl::StatusOr<Md4Digest> Md4(std::initializer_list<absl::Span<const uint8_t>> parts) {
  return Digest<16>(Ctx().md4, "MD4", parts);
}
absl::StatusOr<Md5Digest> Md5(std::initializer_list<absl::Span<const uint8_t>> parts) {
  return Digest<16>(Ctx().md5, "MD5", parts);
}
absl::StatusOr<Sha1Digest> Sha1(std::initializer_list<absl::Span<const uint8_t>> parts) {
  return Digest<20>(Ctx().sha1, "SHA1", parts);
}

DesBlock ExpandDesKey(const std::array<uint8_t, 7>& k) {
  // 56 key bits, 7 per output byte in the high bits; the low bit of each byte is parity.
  DesBlock out;
  out[0] = k[0];
  out[1] = static_cast<uint8_t>(k[0] << 7 | k[1] >> 1);
  out[2] = static_cast<uint8_t>(k[1] << 6 | k[2] >> 2);
  out[3] = static_cast<uint8_t>(k[2] << 5 | k[3] >> 3);
  out[4] = static_cast<uint8_t>(k[3] << 4 | k[4] >> 4);
  out[5] = static_cast<uint8_t>(k[4] << 3 | k[5] >> 5);
  out[6] = static_cast<uint8_t>(k[5] << 2 | k[6] >> 6);
  out[7] = static_cast<uint8_t>(k[6] << 1);
  for (uint8_t& b : out) {
    // Odd parity over the byte: set bit 0 so the number of one bits is odd.
    uint8_t hi = b & 0xFE;
    int ones = __builtin_popcount(hi);
    b = static_cast<uint8_t>(hi | ((ones & 1) ? 0 : 1));
  }
  return out;
}

absl::StatusOr<DesBlock> DesEncrypt(const std::array<uint8_t, 8>& clear,
                                    const std::array<uint8_t, 7>& key56) {
  DesBlock key = ExpandDesKey(key56);
  absl::StatusOr<std::vector<uint8_t>> out = Cipher(Ctx().des_ecb, "DES-ECB", key, clear);
  if (!out.ok()) return out.status();
  if (out->size() != 8) return absl::InternalError("ppp crypto: DES-ECB output is not one block");
  DesBlock block;
  std::copy(out->begin(), out->end(), block.begin());
  return block;
}

absl::StatusOr<std::vector<uint8_t>> Rc4(absl::Span<const uint8_t> key,
                                         absl::Span<const uint8_t> data) {
  return Cipher(Ctx().rc4, "RC4", key, data);
}

absl::Status FillRandom(absl::Span<uint8_t> out) {
  const Context& c = Ctx();
  if (!c.status.ok()) return c.status;
  if (out.empty()) return absl::OkStatus();
  if (RAND_bytes_ex(c.libctx, out.data(), out.size(), 0) != 1) {
    return absl::InternalError(absl::StrCat("ppp crypto: RAND_bytes failed: ", OpensslErrors()));
  }
  return absl::OkStatus();
}

void CryptoRandom(absl::Span<uint8_t> out) {
  absl::Status s = FillRandom(out);
  if (!s.ok()) {
    // A CHAP challenge from a failed DRBG would be predictable: refuse to continue.
    std::abort();
  }
}

absl::StatusOr<std::vector<uint8_t>> Utf8ToUtf16Le(std::string_view s) {
  std::vector<uint8_t> out;
  out.reserve(s.size() * 2);
  auto put = [&out](uint32_t u) {
    out.push_back(static_cast<uint8_t>(u & 0xFF));
    out.push_back(static_cast<uint8_t>(u >> 8));
  };
  size_t i = 0;
  while (i < s.size()) {
    uint8_t b = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t n;
    uint32_t min;
    if (b < 0x80) {
      cp = b, n = 1, min = 0;
    } else if ((b & 0xE0) == 0xC0) {
      cp = b & 0x1F, n = 2, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      cp = b & 0x0F, n = 3, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      cp = b & 0x07, n = 4, min = 0x10000;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("password is not valid UTF-8 (byte ", i, " cannot start a character)"));
    }
    if (i + n > s.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("password is not valid UTF-8 (truncated character at byte ", i, ")"));
    }
    for (size_t k = 1; k < n; ++k) {
      uint8_t c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) {
        return absl::InvalidArgumentError(
            absl::StrCat("password is not valid UTF-8 (bad continuation byte at ", i + k, ")"));
      }
      cp = cp << 6 | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "password is not valid UTF-8 (overlong form or invalid code point at byte ", i, ")"));
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 | (cp >> 10));
      put(0xDC00 | (cp & 0x3FF));
    } else {
      put(cp);
    }
    i += n;
  }
  return out;
}

bool ConstantTimeEqual(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string HexUpper(absl::Span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> ParseHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("hex string has an odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat("not a hex digit at offset ", 2 * i));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace ppp
