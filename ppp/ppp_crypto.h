// The primitives PPP authentication needs (MD4, MD5, SHA-1, DES-ECB, RC4, random bytes) on
// OpenSSL 3.
//
// MD4, single DES and RC4 live in OpenSSL 3's "legacy" provider. Loading it into the default
// library context would change what every other user of OpenSSL in the process gets, so this file
// loads the legacy and default providers into a library context of its own, once (thread-safe
// static initialisation), and fetches each algorithm once; every call reuses those objects.
#ifndef PPP_PPP_CRYPTO_H_
#define PPP_PPP_CRYPTO_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ppp {

using Md4Digest = std::array<uint8_t, 16>;
using Md5Digest = std::array<uint8_t, 16>;
using Sha1Digest = std::array<uint8_t, 20>;
using DesBlock = std::array<uint8_t, 8>;

// OK when the library context, both providers and every algorithm are available; otherwise an
// error naming what is missing (e.g. the legacy provider module, ossl-modules/legacy.so).
absl::Status PppCryptoStatus();

// Digests over the concatenation of `parts` (RFC 2759 and RFC 3079 hash several fields in a row).
absl::StatusOr<Md4Digest> Md4(std::initializer_list<absl::Span<const uint8_t>> parts);
absl::StatusOr<Md5Digest> Md5(std::initializer_list<absl::Span<const uint8_t>> parts);
absl::StatusOr<Sha1Digest> Sha1(std::initializer_list<absl::Span<const uint8_t>> parts);

// RFC 2759 section 8.6 DesEncrypt: one DES-ECB block under a 7-byte (56-bit) key, which is first
// spread over 8 bytes with odd parity bits (ExpandDesKey).
DesBlock ExpandDesKey(const std::array<uint8_t, 7>& key56);
absl::StatusOr<DesBlock> DesEncrypt(const std::array<uint8_t, 8>& clear,
                                    const std::array<uint8_t, 7>& key56);

// RC4 over `data` with `key` (MPPE, RFC 3078; used here for RFC 3079's sample messages).
absl::StatusOr<std::vector<uint8_t>> Rc4(absl::Span<const uint8_t> key,
                                         absl::Span<const uint8_t> data);

// Unpredictable bytes from the private context's DRBG. CryptoRandom() wraps it as a
// ppp::RandomSource (ppp/auth.h) for the authentication engines; it aborts only if the DRBG fails.
absl::Status FillRandom(absl::Span<uint8_t> out);
void CryptoRandom(absl::Span<uint8_t> out);

// UTF-8 to UTF-16LE (MS-CHAP hashes passwords as "Unicode", RFC 2759 section 8.3). Code points
// above U+FFFF become surrogate pairs. Malformed UTF-8 (overlong forms, surrogates, truncated
// sequences) is an error.
absl::StatusOr<std::vector<uint8_t>> Utf8ToUtf16Le(std::string_view utf8);

// Constant-time comparison of equal-length byte strings (false when the lengths differ).
bool ConstantTimeEqual(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b);

// Upper-case hex, and its inverse (accepts either case; error on odd length or a non-hex digit).
std::string HexUpper(absl::Span<const uint8_t> bytes);
absl::StatusOr<std::vector<uint8_t>> ParseHex(std::string_view hex);

}  // namespace ppp

#endif  // PPP_PPP_CRYPTO_H_
