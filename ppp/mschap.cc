#include "ppp/mschap.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ppp/auth_internal.h"
#include "ppp/ppp_crypto.h"

namespace ppp {

using auth_internal::Av;
using auth_internal::Bytes;

namespace {

// RFC 2759 section 8.7.
constexpr std::string_view kMagic1 = "Magic server to client signing constant";
constexpr std::string_view kMagic2 = "Pad to make it do more than one iteration";

// DES-encrypts `clear` under each consecutive 7-octet slice of `keys` and writes the 8-octet
// results one after another into `out` (RFC 2759 section 8.5 ChallengeResponse, RFC 2433
// appendix A.3 LmPasswordHash).
template <size_t kBlocks>
absl::Status DesUnderKeySlices(const DesBlock& clear, const uint8_t (&keys)[7 * kBlocks],
                               std::array<uint8_t, 8 * kBlocks>& out) {
  for (size_t i = 0; i < kBlocks; ++i) {
    std::array<uint8_t, 7> key;
    std::memcpy(key.data(), keys + 7 * i, 7);
    absl::StatusOr<DesBlock> b = DesEncrypt(clear, key);
    if (!b.ok()) return b.status();
    std::copy(b->begin(), b->end(), out.begin() + 8 * i);
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view StripDomain(std::string_view user_name) {
  size_t bs = user_name.rfind('\\');
  return bs == std::string_view::npos ? user_name : user_name.substr(bs + 1);
}

absl::StatusOr<NtHash> NtPasswordHash(std::string_view password_utf8) {
  absl::StatusOr<std::vector<uint8_t>> unicode = Utf8ToUtf16Le(password_utf8);
  if (!unicode.ok()) return unicode.status();
  if (unicode->size() / 2 > kMaxMsChapPasswordChars) {
    return absl::InvalidArgumentError(absl::StrCat("MS-CHAP passwords have at most ",
                                                   kMaxMsChapPasswordChars,
                                                   " UTF-16 characters (RFC 2759 section 8.1)"));
  }
  return Md4({*unicode});
}

absl::StatusOr<NtHash> HashNtPasswordHash(const NtHash& password_hash) {
  return Md4({password_hash});
}

absl::StatusOr<MsChapChallenge8> ChallengeHash(
    const std::array<uint8_t, 16>& peer_challenge,
    const std::array<uint8_t, 16>& authenticator_challenge, std::string_view user_name) {
  absl::StatusOr<Sha1Digest> d =
      Sha1({peer_challenge, authenticator_challenge, Bytes(StripDomain(user_name))});
  if (!d.ok()) return d.status();
  MsChapChallenge8 out;
  std::copy_n(d->begin(), 8, out.begin());
  return out;
}

absl::StatusOr<MsChapResponse24> ChallengeResponse(const MsChapChallenge8& challenge,
                                                   const NtHash& password_hash) {
  uint8_t z[21] = {};
  std::memcpy(z, password_hash.data(), 16);
  MsChapResponse24 out;
  if (absl::Status s = DesUnderKeySlices<3>(challenge, z, out); !s.ok()) return s;
  return out;
}

absl::StatusOr<MsChapResponse24> GenerateNTResponse(
    const std::array<uint8_t, 16>& authenticator_challenge,
    const std::array<uint8_t, 16>& peer_challenge, std::string_view user_name,
    std::string_view password_utf8) {
  absl::StatusOr<MsChapChallenge8> challenge =
      ChallengeHash(peer_challenge, authenticator_challenge, user_name);
  if (!challenge.ok()) return challenge.status();
  absl::StatusOr<NtHash> hash = NtPasswordHash(password_utf8);
  if (!hash.ok()) return hash.status();
  return ChallengeResponse(*challenge, *hash);
}

absl::StatusOr<std::string> GenerateAuthenticatorResponseFromHash(
    const NtHash& password_hash, const MsChapResponse24& nt_response,
    const std::array<uint8_t, 16>& peer_challenge,
    const std::array<uint8_t, 16>& authenticator_challenge, std::string_view user_name) {
  absl::StatusOr<NtHash> hash_hash = HashNtPasswordHash(password_hash);
  if (!hash_hash.ok()) return hash_hash.status();
  absl::StatusOr<Sha1Digest> digest = Sha1({*hash_hash, nt_response, Bytes(kMagic1)});
  if (!digest.ok()) return digest.status();
  absl::StatusOr<MsChapChallenge8> challenge =
      ChallengeHash(peer_challenge, authenticator_challenge, user_name);
  if (!challenge.ok()) return challenge.status();
  absl::StatusOr<Sha1Digest> final_digest = Sha1({*digest, *challenge, Bytes(kMagic2)});
  if (!final_digest.ok()) return final_digest.status();
  return absl::StrCat("S=", HexUpper(*final_digest));
}

absl::StatusOr<std::string> GenerateAuthenticatorResponse(
    std::string_view password_utf8, const MsChapResponse24& nt_response,
    const std::array<uint8_t, 16>& peer_challenge,
    const std::array<uint8_t, 16>& authenticator_challenge, std::string_view user_name) {
  absl::StatusOr<NtHash> hash = NtPasswordHash(password_utf8);
  if (!hash.ok()) return hash.status();
  return GenerateAuthenticatorResponseFromHash(*hash, nt_response, peer_challenge,
                                               authenticator_challenge, user_name);
}

absl::StatusOr<bool> CheckAuthenticatorResponse(
    std::string_view password_utf8, const MsChapResponse24& nt_response,
    const std::array<uint8_t, 16>& peer_challenge,
    const std::array<uint8_t, 16>& authenticator_challenge, std::string_view user_name,
    std::string_view received) {
  absl::StatusOr<std::string> expected = GenerateAuthenticatorResponse(
      password_utf8, nt_response, peer_challenge, authenticator_challenge, user_name);
  if (!expected.ok()) return expected.status();
  if (received.size() != expected->size()) return false;
  std::string upper = absl::AsciiStrToUpper(Av(received));
  return ConstantTimeEqual(Bytes(upper), Bytes(*expected));
}

absl::StatusOr<MsChapResponse24> NtChallengeResponse(const MsChapChallenge8& challenge,
                                                     std::string_view password_utf8) {
  absl::StatusOr<NtHash> hash = NtPasswordHash(password_utf8);
  if (!hash.ok()) return hash.status();
  return ChallengeResponse(challenge, *hash);
}

absl::StatusOr<NtHash> LmPasswordHash(std::string_view password) {
  // RFC 2433 A.3: the OEM (here ASCII) upper-cased password, 14 bytes, each half a DES key over
  // the constant "KGS!@#$%".
  static constexpr std::array<uint8_t, 8> kStdText = {'K', 'G', 'S', '!', '@', '#', '$', '%'};
  uint8_t pw[14] = {};
  for (size_t i = 0; i < password.size() && i < 14; ++i) {
    pw[i] = static_cast<uint8_t>(absl::ascii_toupper(static_cast<unsigned char>(password[i])));
  }
  NtHash out;
  if (absl::Status s = DesUnderKeySlices<2>(kStdText, pw, out); !s.ok()) return s;
  return out;
}

absl::StatusOr<MsChapResponse24> LmChallengeResponse(const MsChapChallenge8& challenge,
                                                     std::string_view password) {
  absl::StatusOr<NtHash> hash = LmPasswordHash(password);
  if (!hash.ok()) return hash.status();
  return ChallengeResponse(challenge, *hash);
}

std::array<uint8_t, 49> EncodeMsChapV1ResponseValue(const MsChapV1ResponseValue& v) {
  std::array<uint8_t, 49> out{};
  std::copy(v.lm_response.begin(), v.lm_response.end(), out.begin());
  std::copy(v.nt_response.begin(), v.nt_response.end(), out.begin() + 24);
  out[48] = v.use_nt;
  return out;
}

std::array<uint8_t, 49> EncodeMsChapV2ResponseValue(const MsChapV2ResponseValue& v) {
  std::array<uint8_t, 49> out{};
  std::copy(v.peer_challenge.begin(), v.peer_challenge.end(), out.begin());
  // out[16..23]: Reserved, zero.
  std::copy(v.nt_response.begin(), v.nt_response.end(), out.begin() + 24);
  out[48] = v.flags;
  return out;
}

absl::StatusOr<MsChapV1ResponseValue> ParseMsChapV1ResponseValue(absl::Span<const uint8_t> value) {
  if (value.size() != kMsChapResponseValueSize) {
    return absl::InvalidArgumentError(absl::StrCat("MS-CHAPv1 Response Value is ", value.size(),
                                                   " octets; RFC 2433 section 5.1 says 49"));
  }
  MsChapV1ResponseValue v;
  std::copy_n(value.begin(), 24, v.lm_response.begin());
  std::copy_n(value.begin() + 24, 24, v.nt_response.begin());
  v.use_nt = value[48];
  return v;
}

absl::StatusOr<MsChapV2ResponseValue> ParseMsChapV2ResponseValue(absl::Span<const uint8_t> value) {
  if (value.size() != kMsChapResponseValueSize) {
    return absl::InvalidArgumentError(absl::StrCat("MS-CHAPv2 Response Value is ", value.size(),
                                                   " octets; RFC 2759 section 4 says 49"));
  }
  for (size_t i = 16; i < 24; ++i) {
    if (value[i] != 0) {
      return absl::InvalidArgumentError(
          "MS-CHAPv2 Response Value has a non-zero Reserved field (RFC 2759 section 4)");
    }
  }
  MsChapV2ResponseValue v;
  std::copy_n(value.begin(), 16, v.peer_challenge.begin());
  std::copy_n(value.begin() + 24, 24, v.nt_response.begin());
  v.flags = value[48];
  return v;
}

std::string FormatMsChapFailure(const MsChapFailure& f) {
  std::string out = absl::StrCat("E=", f.error, " R=", f.retry ? 1 : 0);
  if (!f.challenge.empty()) absl::StrAppend(&out, " C=", HexUpper(f.challenge));
  absl::StrAppend(&out, " V=", f.version);
  if (!f.message.empty()) absl::StrAppend(&out, " M=", f.message);
  return out;
}

absl::StatusOr<MsChapFailure> ParseMsChapFailure(std::string_view text) {
  MsChapFailure f;
  bool have_error = false;
  std::string_view rest = text;
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    if (rest.size() < 2 || rest[1] != '=') {
      return absl::InvalidArgumentError(absl::StrCat(
          "MS-CHAP Failure message: expected \"X=\" at \"", Av(rest.substr(0, 16)), "\""));
    }
    char key = rest[0];
    rest.remove_prefix(2);
    if (key == 'M') {  // The message runs to the end (it may contain spaces).
      f.message = std::string(rest);
      break;
    }
    size_t sp = rest.find(' ');
    std::string_view val = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
    int n = 0;
    switch (key) {
      case 'E':
        if (!absl::SimpleAtoi(Av(val), &n)) {
          return absl::InvalidArgumentError("MS-CHAP Failure message: E= is not a number");
        }
        f.error = n;
        have_error = true;
        break;
      case 'R':
        if (val != "0" && val != "1") {
          return absl::InvalidArgumentError("MS-CHAP Failure message: R= is not 0 or 1");
        }
        f.retry = val == "1";
        break;
      case 'C': {
        absl::StatusOr<std::vector<uint8_t>> c = ParseHex(val);
        if (!c.ok() || (c->size() != 8 && c->size() != 16)) {
          return absl::InvalidArgumentError(
              "MS-CHAP Failure message: C= is not 16 or 32 hex digits");
        }
        f.challenge = *std::move(c);
        break;
      }
      case 'V':
        if (!absl::SimpleAtoi(Av(val), &n)) {
          return absl::InvalidArgumentError("MS-CHAP Failure message: V= is not a number");
        }
        f.version = n;
        break;
      default:
        break;  // Unknown fields are skipped: later Windows versions may add some.
    }
  }
  if (!have_error) return absl::InvalidArgumentError("MS-CHAP Failure message has no E= field");
  return f;
}

std::string FormatMsChapV2Success(std::string_view authenticator_response,
                                  std::string_view message) {
  return absl::StrCat(Av(authenticator_response), " M=", Av(message));
}

absl::StatusOr<MsChapV2Success> ParseMsChapV2Success(std::string_view text) {
  // RFC 2759 section 5: "S=<auth_string> M=<message>"; some authenticators omit " M=...".
  if (text.size() < 42 || text.substr(0, 2) != "S=") {
    return absl::InvalidArgumentError(
        "MS-CHAPv2 Success message does not start with S= and 40 hex digits");
  }
  for (size_t i = 2; i < 42; ++i) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) {
      return absl::InvalidArgumentError("MS-CHAPv2 Success message: S= is not 40 hex digits");
    }
  }
  if (text.size() > 42 && text[42] != ' ') {
    return absl::InvalidArgumentError(
        "MS-CHAPv2 Success message: S= is longer than 40 hex digits or not followed by a space");
  }
  MsChapV2Success s;
  s.authenticator_response = std::string(text.substr(0, 42));
  std::string_view rest = text.substr(42);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.substr(0, 2) == "M=") s.message = std::string(rest.substr(2));
  return s;
}

}  // namespace ppp
