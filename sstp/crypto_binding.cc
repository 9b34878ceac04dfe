#include "sstp/crypto_binding.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"

namespace sstp {
namespace {

constexpr char kCmkSeed[] = "SSTP inner method derived CMK";

const EVP_MD* Md(uint8_t hash_protocol) {
  return hash_protocol == kHashProtocolSha256 ? EVP_sha256() : EVP_sha1();
}

Hlak Concat16(absl::Span<const uint8_t> first, absl::Span<const uint8_t> second) {
  // RFC 3079 master keys are 16 bytes; anything longer is cut, shorter is zero padded
  // (MS-SSTP: "padded with 0x00 at the end to obtain a total length of 32 octets").
  Hlak h{};
  std::memcpy(h.data(), first.data(), std::min<size_t>(first.size(), 16));
  std::memcpy(h.data() + 16, second.data(), std::min<size_t>(second.size(), 16));
  return h;
}

HashField Hmac(uint8_t hash_protocol, absl::Span<const uint8_t> key,
               absl::Span<const uint8_t> data) {
  HashField out{};
  unsigned int len = 0;
  // One-shot HMAC() is the non-deprecated OpenSSL 3 interface for this.
  HMAC(Md(hash_protocol), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
       out.data(), &len);
  return out;
}

}  // namespace

Hlak ServerHlakFromMppe(absl::Span<const uint8_t> master_send_key,
                        absl::Span<const uint8_t> master_receive_key) {
  return Concat16(master_receive_key, master_send_key);
}

Hlak ClientHlakFromMppe(absl::Span<const uint8_t> master_send_key,
                        absl::Span<const uint8_t> master_receive_key) {
  return Concat16(master_send_key, master_receive_key);
}

size_t DigestSize(uint8_t hash_protocol) {
  return hash_protocol == kHashProtocolSha256 ? SHA256_DIGEST_LENGTH : SHA_DIGEST_LENGTH;
}

uint8_t ChooseHashProtocol(uint8_t bitmask) {
  if (bitmask & kHashProtocolSha256) return kHashProtocolSha256;
  if (bitmask & kHashProtocolSha1) return kHashProtocolSha1;
  return 0;
}

absl::StatusOr<HashField> CertificateHash(uint8_t hash_protocol, absl::Span<const uint8_t> der) {
  if (hash_protocol != kHashProtocolSha1 && hash_protocol != kHashProtocolSha256) {
    return absl::InvalidArgumentError(
        absl::StrFormat("hash protocol 0x%02x is neither SHA1 (1) nor SHA256 (2)", hash_protocol));
  }
  if (der.empty()) return absl::InvalidArgumentError("empty server certificate (DER)");
  HashField out{};
  unsigned int len = 0;
  if (EVP_Digest(der.data(), der.size(), out.data(), &len, Md(hash_protocol), nullptr) != 1) {
    return absl::InternalError("OpenSSL EVP_Digest failed on the server certificate");
  }
  return out;
}

HashField DeriveCmk(uint8_t hash_protocol, const Hlak& hlak) {
  const size_t n = DigestSize(hash_protocol);
  uint8_t seed[sizeof(kCmkSeed) - 1 + 3];
  std::memcpy(seed, kCmkSeed, sizeof(kCmkSeed) - 1);
  seed[sizeof(kCmkSeed) - 1] = static_cast<uint8_t>(n);  // little endian 16-bit length
  seed[sizeof(kCmkSeed)] = static_cast<uint8_t>(n >> 8);
  seed[sizeof(kCmkSeed) + 1] = 0x01;
  return Hmac(hash_protocol, hlak, seed);
}

HashField ComputeCompoundMac(uint8_t hash_protocol, const HashField& cmk,
                             absl::Span<const uint8_t> call_connected) {
  std::array<uint8_t, kCallConnectedLength> msg{};
  std::memcpy(msg.data(), call_connected.data(),
              std::min(call_connected.size(), kCallConnectedLength));
  std::memset(msg.data() + kCallConnectedMacOffset, 0, kHashFieldSize);
  return Hmac(hash_protocol, absl::MakeConstSpan(cmk.data(), DigestSize(hash_protocol)), msg);
}

ControlPacket BuildCallConnected(uint8_t hash_protocol, const Nonce& nonce,
                                 const HashField& cert_hash, const Hlak& hlak) {
  CryptoBinding b;
  b.hash_protocol = hash_protocol;
  b.nonce = nonce;
  b.cert_hash = cert_hash;
  ControlPacket p = EncodeCallConnected(b);  // MAC field zero
  const HashField mac = ComputeCompoundMac(hash_protocol, DeriveCmk(hash_protocol, hlak), p.span());
  std::memcpy(p.bytes.data() + kCallConnectedMacOffset, mac.data(), kHashFieldSize);
  return p;
}

bool VerifyCallConnected(const BindingExpectation& expect, const CryptoBinding& binding,
                         absl::Span<const uint8_t> raw, const Hlak& hlak, BindingFailure* failure) {
  auto fail = [&](StatusCode status, std::string reason) {
    if (failure != nullptr) {
      failure->status = status;
      failure->attribute = AttributeId::kCryptoBinding;
      failure->reason = std::move(reason);
    }
    return false;
  };
  const uint8_t hp = binding.hash_protocol;
  if ((hp != kHashProtocolSha1 && hp != kHashProtocolSha256) ||
      (expect.offered_hash_protocols & hp) == 0) {
    return fail(StatusCode::kValueNotSupported,
                absl::StrFormat("crypto binding uses hash protocol 0x%02x, offered were 0x%02x", hp,
                                expect.offered_hash_protocols));
  }
  if (raw.size() != kCallConnectedLength) {
    return fail(StatusCode::kInvalidAttribValueLength, "CALL_CONNECTED is not 112 bytes");
  }
  if (CRYPTO_memcmp(binding.nonce.data(), expect.nonce.data(), kNonceSize) != 0) {
    return fail(StatusCode::kValueNotSupported,
                "crypto binding nonce differs from the one sent in CALL_CONNECT_ACK");
  }
  const HashField& want_hash =
      hp == kHashProtocolSha256 ? expect.cert_hash_sha256 : expect.cert_hash_sha1;
  if (CRYPTO_memcmp(binding.cert_hash.data(), want_hash.data(), kHashFieldSize) != 0) {
    return fail(StatusCode::kValueNotSupported,
                absl::StrFormat("crypto binding certificate hash (%s) is not our server "
                                "certificate's: a TLS-intercepting proxy or a wrong certificate",
                                hp == kHashProtocolSha256 ? "SHA256" : "SHA1"));
  }
  const HashField mac = ComputeCompoundMac(hp, DeriveCmk(hp, hlak), raw);
  if (CRYPTO_memcmp(mac.data(), binding.compound_mac.data(), kHashFieldSize) != 0) {
    return fail(StatusCode::kValueNotSupported,
                "crypto binding Compound MAC is wrong: the PPP authentication keys (HLAK) differ "
                "between client and server");
  }
  return true;
}

}  // namespace sstp
