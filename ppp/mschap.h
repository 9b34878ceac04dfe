// Microsoft CHAP computations: MS-CHAPv2 (RFC 2759 section 8) and MS-CHAPv1 (RFC 2433 appendix A).
// Names follow the RFCs' pseudocode. Passwords are UTF-8 here and hashed as UTF-16LE, the
// "Unicode" the RFCs mean; at most 256 characters (RFC 2759 section 8.1).
#ifndef PPP_MSCHAP_H_
#define PPP_MSCHAP_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ppp {

using NtHash = std::array<uint8_t, 16>;           // PasswordHash, PasswordHashHash
using MsChapChallenge8 = std::array<uint8_t, 8>;  // Challenge (v1), ChallengeHash output (v2)
using MsChapResponse24 = std::array<uint8_t, 24>;

inline constexpr size_t kMsChapV1ChallengeSize = 8;
inline constexpr size_t kMsChapV2ChallengeSize = 16;
inline constexpr size_t kMsChapResponseValueSize = 49;
inline constexpr size_t kMaxMsChapPasswordChars = 256;

// RFC 2759 section 8.3: MD4 of the UTF-16LE password.
absl::StatusOr<NtHash> NtPasswordHash(std::string_view password_utf8);
// RFC 2759 section 8.4: MD4 of the PasswordHash.
absl::StatusOr<NtHash> HashNtPasswordHash(const NtHash& password_hash);
// RFC 2759 section 8.2: SHA1(PeerChallenge || AuthenticatorChallenge || UserName)[0..7]. UserName
// is used without a "DOMAIN\" prefix (section 8.2's note); StripDomain() does that.
absl::StatusOr<MsChapChallenge8> ChallengeHash(
    const std::array<uint8_t, 16>& peer_challenge,
    const std::array<uint8_t, 16>& authenticator_challenge, std::string_view user_name);
// RFC 2759 section 8.5: three DES encryptions of the Challenge under the zero-padded hash.
absl::StatusOr<MsChapResponse24> ChallengeResponse(const MsChapChallenge8& challenge,
                                                   const NtHash& password_hash);
// RFC 2759 section 8.1.
absl::StatusOr<MsChapResponse24> GenerateNTResponse(
    const std::array<uint8_t, 16>& authenticator_challenge,
    const std::array<uint8_t, 16>& peer_challenge, std::string_view user_name,
    std::string_view password_utf8);
// RFC 2759 section 8.7: "S=" and 40 upper-case hex digits (42 characters).
absl::StatusOr<std::string> GenerateAuthenticatorResponse(
    std::string_view password_utf8, const MsChapResponse24& nt_response,
    const std::array<uint8_t, 16>& peer_challenge,
    const std::array<uint8_t, 16>& authenticator_challenge, std::string_view user_name);
// The same from the PasswordHash (for backends that store NT hashes instead of passwords).
absl::StatusOr<std::string> GenerateAuthenticatorResponseFromHash(
    const NtHash& password_hash, const MsChapResponse24& nt_response,
    const std::array<uint8_t, 16>& peer_challenge,
    const std::array<uint8_t, 16>& authenticator_challenge, std::string_view user_name);
// RFC 2759 section 8.8: true when `received` (the 42-character "S=..." string; hex in either case)
// is what the authenticator must have sent. Compared in constant time.
absl::StatusOr<bool> CheckAuthenticatorResponse(
    std::string_view password_utf8, const MsChapResponse24& nt_response,
    const std::array<uint8_t, 16>& peer_challenge,
    const std::array<uint8_t, 16>& authenticator_challenge, std::string_view user_name,
    std::string_view received);

// "DOMAIN\user" -> "user"; names without a backslash are returned as they are.
std::string_view StripDomain(std::string_view user_name);

// MS-CHAPv1, RFC 2433 appendix A.5 NtChallengeResponse: ChallengeResponse(Challenge,
// NtPasswordHash(Password)) for the 8-octet authenticator challenge.
absl::StatusOr<MsChapResponse24> NtChallengeResponse(const MsChapChallenge8& challenge,
                                                     std::string_view password_utf8);
// RFC 2433 A.3 LmPasswordHash and A.4 LmChallengeResponse, for the appendix's vectors only: the
// engines never send or accept LAN Manager responses (they send zeros and set the "use NT" flag,
// as Windows does). The password is upper-cased as ASCII and cut/padded to 14 bytes.
absl::StatusOr<NtHash> LmPasswordHash(std::string_view password);
absl::StatusOr<MsChapResponse24> LmChallengeResponse(const MsChapChallenge8& challenge,
                                                     std::string_view password);

// The 49-octet Response Value of MS-CHAPv1 (RFC 2433 section 5.1): LM-Response (24, zero),
// NT-Response (24), Flags (1: 1 = use the NT-Response).
struct MsChapV1ResponseValue {
  MsChapResponse24 lm_response{};
  MsChapResponse24 nt_response{};
  uint8_t use_nt = 1;
};
// The 49-octet Response Value of MS-CHAPv2 (RFC 2759 section 4): Peer-Challenge (16), Reserved
// (8, zero), NT-Response (24), Flags (1, zero).
struct MsChapV2ResponseValue {
  std::array<uint8_t, 16> peer_challenge{};
  MsChapResponse24 nt_response{};
  uint8_t flags = 0;
};
std::array<uint8_t, 49> EncodeMsChapV1ResponseValue(const MsChapV1ResponseValue& v);
std::array<uint8_t, 49> EncodeMsChapV2ResponseValue(const MsChapV2ResponseValue& v);
// Errors name the bad field (size other than 49, non-zero Reserved).
absl::StatusOr<MsChapV1ResponseValue> ParseMsChapV1ResponseValue(absl::Span<const uint8_t> value);
absl::StatusOr<MsChapV2ResponseValue> ParseMsChapV2ResponseValue(absl::Span<const uint8_t> value);

// The Failure packet's message (RFC 2759 section 6, RFC 2433 section 5.3):
// "E=eeeeeeeeee R=r C=cccccccccccccccccccccccccccccccc V=vvvvvvvvvv M=<msg>".
inline constexpr int kMsChapErrorRestrictedLogonHours = 646;
inline constexpr int kMsChapErrorAccountDisabled = 647;
inline constexpr int kMsChapErrorPasswordExpired = 648;
inline constexpr int kMsChapErrorNoDialinPermission = 649;
inline constexpr int kMsChapErrorAuthenticationFailure = 691;
inline constexpr int kMsChapErrorChangingPassword = 709;
struct MsChapFailure {
  int error = kMsChapErrorAuthenticationFailure;
  bool retry = false;
  std::vector<uint8_t> challenge;  // C=, empty when absent
  int version = 0;                 // V=, 0 when absent
  std::string message;             // M=, empty when absent
};
std::string FormatMsChapFailure(const MsChapFailure& f);
absl::StatusOr<MsChapFailure> ParseMsChapFailure(std::string_view text);

// The MS-CHAPv2 Success message (RFC 2759 section 5): "S=<40 hex> M=<msg>".
struct MsChapV2Success {
  std::string authenticator_response;  // "S=" + 40 hex digits as received
  std::string message;
};
std::string FormatMsChapV2Success(std::string_view authenticator_response,
                                  std::string_view message);
absl::StatusOr<MsChapV2Success> ParseMsChapV2Success(std::string_view text);

}  // namespace ppp

#endif  // PPP_MSCHAP_H_
