#include "ppp/mppe.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ppp/auth_internal.h"
#include "ppp/ppp_crypto.h"

namespace ppp {

using auth_internal::Av;
using auth_internal::Bytes;

namespace {

// RFC 3079 section 3.4.
constexpr std::string_view kMasterMagic1 = "This is the MPPE Master Key";
constexpr std::string_view kMagic2 =
    "On the client side, this is the send key; on the server side, it is the receive key.";
constexpr std::string_view kMagic3 =
    "On the client side, this is the receive key; on the server side, it is the send key.";
constexpr std::array<uint8_t, 40> kShsPad1 = {};
constexpr std::array<uint8_t, 40> kShsPad2 = [] {
  std::array<uint8_t, 40> a{};
  for (auto& b : a) b = 0xF2;
  return a;
}();

absl::Status CheckKeyLength(size_t key_length, size_t have) {
  if (key_length != 8 && key_length != 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("MPPE key length ", key_length, " (RFC 3079 uses 8 or 16 octets)"));
  }
  if (have < key_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("MPPE key material of ", have, " octets is shorter than ", key_length));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::array<uint8_t, 16>> GetMasterKey(const NtHash& password_hash_hash,
                                                     const MsChapResponse24& nt_response) {
  absl::StatusOr<Sha1Digest> d = Sha1({password_hash_hash, nt_response, Bytes(kMasterMagic1)});
  if (!d.ok()) return d.status();
  std::array<uint8_t, 16> out;
  std::copy_n(d->begin(), 16, out.begin());
  return out;
}

absl::StatusOr<std::vector<uint8_t>> GetAsymmetricStartKey(
    const std::array<uint8_t, 16>& master_key, size_t key_length, bool is_send, bool is_server) {
  if (absl::Status s = CheckKeyLength(key_length, 16); !s.ok()) return s;
  // The server's send key and the client's receive key share Magic3 (section 3.4).
  std::string_view s = (is_send == is_server) ? kMagic3 : kMagic2;
  absl::StatusOr<Sha1Digest> d = Sha1({master_key, kShsPad1, Bytes(s), kShsPad2});
  if (!d.ok()) return d.status();
  return std::vector<uint8_t>(d->begin(), d->begin() + key_length);
}

absl::StatusOr<std::vector<uint8_t>> GetNewKeyFromSHA(absl::Span<const uint8_t> start_key,
                                                      absl::Span<const uint8_t> session_key,
                                                      size_t key_length) {
  if (absl::Status s = CheckKeyLength(key_length, std::min(start_key.size(), session_key.size()));
      !s.ok()) {
    return s;
  }
  absl::StatusOr<Sha1Digest> d = Sha1(
      {start_key.subspan(0, key_length), kShsPad1, session_key.subspan(0, key_length), kShsPad2});
  if (!d.ok()) return d.status();
  return std::vector<uint8_t>(d->begin(), d->begin() + key_length);
}

absl::StatusOr<std::vector<uint8_t>> MppeInitialSessionKey(absl::Span<const uint8_t> start_key,
                                                           int bits) {
  size_t len = bits == 128 ? 16 : 8;
  if (bits != 40 && bits != 56 && bits != 128) {
    return absl::InvalidArgumentError(absl::StrCat("MPPE key strength ", bits, " bits"));
  }
  absl::StatusOr<std::vector<uint8_t>> key = GetNewKeyFromSHA(start_key, start_key, len);
  if (!key.ok()) return key;
  // RFC 3079 section 7 / RFC 3078 section 7.3: the weaker keys are reduced with fixed octets.
  if (bits == 40) {
    (*key)[0] = 0xD1, (*key)[1] = 0x26, (*key)[2] = 0x9E;
  } else if (bits == 56) {
    (*key)[0] = 0xD1;
  }
  return key;
}

absl::StatusOr<MppeKeys> MsChapV2MppeKeysFromHash(const NtHash& password_hash,
                                                  const MsChapResponse24& nt_response,
                                                  bool is_server) {
  absl::StatusOr<NtHash> hash_hash = HashNtPasswordHash(password_hash);
  if (!hash_hash.ok()) return hash_hash.status();
  absl::StatusOr<std::array<uint8_t, 16>> master = GetMasterKey(*hash_hash, nt_response);
  if (!master.ok()) return master.status();
  absl::StatusOr<std::vector<uint8_t>> send =
      GetAsymmetricStartKey(*master, 16, /*is_send=*/true, is_server);
  if (!send.ok()) return send.status();
  absl::StatusOr<std::vector<uint8_t>> receive =
      GetAsymmetricStartKey(*master, 16, /*is_send=*/false, is_server);
  if (!receive.ok()) return receive.status();
  MppeKeys keys;
  std::copy_n(send->begin(), 16, keys.send.begin());
  std::copy_n(receive->begin(), 16, keys.receive.begin());
  return keys;
}

absl::StatusOr<MppeKeys> MsChapV2MppeKeys(std::string_view password_utf8,
                                          const MsChapResponse24& nt_response, bool is_server) {
  absl::StatusOr<NtHash> hash = NtPasswordHash(password_utf8);
  if (!hash.ok()) return hash.status();
  return MsChapV2MppeKeysFromHash(*hash, nt_response, is_server);
}

absl::StatusOr<std::array<uint8_t, 16>> MsChapV1StartKey(const MsChapChallenge8& challenge,
                                                         const NtHash& password_hash_hash) {
  absl::StatusOr<Sha1Digest> d = Sha1({password_hash_hash, password_hash_hash, challenge});
  if (!d.ok()) return d.status();
  std::array<uint8_t, 16> out;
  std::copy_n(d->begin(), 16, out.begin());
  return out;
}

absl::StatusOr<MppeKeys> MsChapV1MppeKeys(std::string_view password_utf8,
                                          const MsChapChallenge8& challenge) {
  absl::StatusOr<NtHash> hash = NtPasswordHash(password_utf8);
  if (!hash.ok()) return hash.status();
  absl::StatusOr<NtHash> hash_hash = HashNtPasswordHash(*hash);
  if (!hash_hash.ok()) return hash_hash.status();
  absl::StatusOr<std::array<uint8_t, 16>> start = MsChapV1StartKey(challenge, *hash_hash);
  if (!start.ok()) return start.status();
  return MppeKeys{*start, *start};
}

}  // namespace ppp
