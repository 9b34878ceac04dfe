// MPPE key derivation (RFC 3079): the master keys MS-CHAP produces. SSTP's crypto binding
// (MS-SSTP section 3.2.5.2) takes the 16-byte MasterSendKey and MasterReceiveKey of MS-CHAPv2;
// MPPE itself (RC4 per packet) is not used inside SSTP, but the session-key steps are here for
// RFC 3079's sample derivations.
#ifndef PPP_MPPE_H_
#define PPP_MPPE_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ppp/mschap.h"

namespace ppp {

// MPPE master keys as seen by the role that holds them: `send` protects what this side sends
// (MasterSendKey), `receive` what it receives (MasterReceiveKey). The server's send key is the
// client's receive key and vice versa. SSTP's HLAK (MS-SSTP 3.2.5.2) is, on the server,
// receive || send, and on the client send || receive: the same 32 bytes on both ends.
struct MppeKeys {
  std::array<uint8_t, 16> send{};
  std::array<uint8_t, 16> receive{};
  friend bool operator==(const MppeKeys&, const MppeKeys&) = default;
};

// RFC 3079 section 3.4 GetMasterKey: SHA1(PasswordHashHash || NTResponse || Magic1)[0..15].
absl::StatusOr<std::array<uint8_t, 16>> GetMasterKey(const NtHash& password_hash_hash,
                                                     const MsChapResponse24& nt_response);
// RFC 3079 section 3.4 GetAsymmetricStartKey: key_length 8 (40/56-bit) or 16 (128-bit).
absl::StatusOr<std::vector<uint8_t>> GetAsymmetricStartKey(
    const std::array<uint8_t, 16>& master_key, size_t key_length, bool is_send, bool is_server);
// RFC 3079 section 2.4 / 3.4 GetNewKeyFromSHA: SHA1(StartKey || Pad1 || SessionKey || Pad2),
// first key_length bytes.
absl::StatusOr<std::vector<uint8_t>> GetNewKeyFromSHA(absl::Span<const uint8_t> start_key,
                                                      absl::Span<const uint8_t> session_key,
                                                      size_t key_length);
// RFC 3079 section 7 (initial session key): GetNewKeyFromSHA(start, start), then for 40-bit keys
// the first 3 octets become D1 26 9E and for 56-bit keys the first octet D1. bits: 40, 56, 128.
absl::StatusOr<std::vector<uint8_t>> MppeInitialSessionKey(absl::Span<const uint8_t> start_key,
                                                           int bits);

// MS-CHAPv2 master keys for `is_server` (RFC 3079 section 3): from the password and NT-Response.
absl::StatusOr<MppeKeys> MsChapV2MppeKeys(std::string_view password_utf8,
                                          const MsChapResponse24& nt_response, bool is_server);
absl::StatusOr<MppeKeys> MsChapV2MppeKeysFromHash(const NtHash& password_hash,
                                                  const MsChapResponse24& nt_response,
                                                  bool is_server);

// MS-CHAPv1 (RFC 3079 section 2.4, 128-bit): Get_Start_Key(Challenge, NtPasswordHashHash):
// SHA1(PasswordHashHash || PasswordHashHash || Challenge)[0..15]. Both directions use it.
absl::StatusOr<std::array<uint8_t, 16>> MsChapV1StartKey(const MsChapChallenge8& challenge,
                                                         const NtHash& password_hash_hash);
absl::StatusOr<MppeKeys> MsChapV1MppeKeys(std::string_view password_utf8,
                                          const MsChapChallenge8& challenge);

}  // namespace ppp

#endif  // PPP_MPPE_H_
