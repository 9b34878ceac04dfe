#include "ppp/auth.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ppp/auth_internal.h"
#include "ppp/chap.h"
#include "ppp/mschap.h"
#include "ppp/pap.h"
#include "ppp/ppp_crypto.h"

namespace ppp {

using auth_internal::Av;
using auth_internal::Bytes;

std::string_view AuthMethodName(AuthMethod method) {
  switch (method) {
    case AuthMethod::kPap:
      return "pap";
    case AuthMethod::kChapMd5:
      return "chap";
    case AuthMethod::kMsChapV1:
      return "mschap1";
    case AuthMethod::kMsChapV2:
      return "mschap2";
  }
  return "unknown";
}

absl::StatusOr<AuthMethod> AuthMethodFromName(std::string_view name) {
  std::string n = absl::AsciiStrToLower(Av(name));
  for (AuthMethod m :
       {AuthMethod::kPap, AuthMethod::kChapMd5, AuthMethod::kMsChapV1, AuthMethod::kMsChapV2}) {
    if (n == AuthMethodName(m)) return m;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown authentication method \"", Av(name),
                                                 "\" (pap, chap, mschap1, mschap2)"));
}

uint16_t AuthProtocol(AuthMethod method) {
  return method == AuthMethod::kPap ? kProtocolPap : kProtocolChap;
}

std::vector<uint8_t> EncodeAuthOption(AuthMethod method) {
  uint16_t proto = AuthProtocol(method);
  std::vector<uint8_t> out = {static_cast<uint8_t>(proto >> 8), static_cast<uint8_t>(proto)};
  if (method != AuthMethod::kPap) out.push_back(ChapAlgorithmOf(method));
  return out;
}

absl::StatusOr<AuthMethod> ParseAuthOption(absl::Span<const uint8_t> data) {
  if (data.size() < 2) {
    return absl::InvalidArgumentError("Authentication-Protocol option shorter than 2 octets");
  }
  uint16_t proto = static_cast<uint16_t>(data[0] << 8 | data[1]);
  if (proto == kProtocolPap) {
    if (data.size() != 2) {
      return absl::InvalidArgumentError("Authentication-Protocol PAP option carries extra data");
    }
    return AuthMethod::kPap;
  }
  if (proto == kProtocolChap) {
    if (data.size() != 3) {
      return absl::InvalidArgumentError(
          "Authentication-Protocol CHAP option must carry exactly one algorithm octet");
    }
    switch (data[2]) {
      case kChapAlgorithmMd5:
        return AuthMethod::kChapMd5;
      case kChapAlgorithmMsChapV1:
        return AuthMethod::kMsChapV1;
      case kChapAlgorithmMsChapV2:
        return AuthMethod::kMsChapV2;
      default:
        return absl::UnimplementedError(
            absl::StrFormat("CHAP algorithm 0x%02x is not supported", data[2]));
    }
  }
  return absl::UnimplementedError(
      absl::StrFormat("authentication protocol 0x%04x is not supported", proto));
}

absl::StatusOr<AuthPacketHeader> ParseAuthPacketHeader(absl::Span<const uint8_t> packet,
                                                       std::string_view protocol_name) {
  if (packet.size() < 4) {
    return absl::InvalidArgumentError(absl::StrCat(Av(protocol_name), " packet of ", packet.size(),
                                                   " octets is shorter than its 4-octet header"));
  }
  size_t length = static_cast<size_t>(packet[2] << 8 | packet[3]);
  if (length < 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(Av(protocol_name), " packet Length ", length, " is less than 4"));
  }
  if (length > packet.size()) {
    return absl::InvalidArgumentError(absl::StrCat(Av(protocol_name), " packet Length ", length,
                                                   " exceeds the ", packet.size(),
                                                   " octets received"));
  }
  AuthPacketHeader h;
  h.code = packet[0];
  h.identifier = packet[1];
  h.data = packet.subspan(4, length - 4);
  return h;
}

std::string_view AuthFailureName(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kNone:
      return "none";
    case AuthFailure::kWrongPassword:
      return "wrong password";
    case AuthFailure::kNoSuchUser:
      return "no such user";
    case AuthFailure::kDisabled:
      return "user disabled";
    case AuthFailure::kTimeout:
      return "timeout";
    case AuthFailure::kBadAuthenticatorResponse:
      return "bad authenticator response";
    case AuthFailure::kRejected:
      return "rejected by authenticator";
    case AuthFailure::kUnsupported:
      return "unsupported";
    case AuthFailure::kBackendError:
      return "backend error";
  }
  return "unknown";
}

namespace {

absl::Status CheckTimers(absl::Duration restart_timer, int max_transmissions) {
  if (restart_timer <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("authentication restart timer must be positive");
  }
  if (max_transmissions < 1 || max_transmissions > 255) {
    return absl::InvalidArgumentError("authentication max transmissions must be 1..255");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Authenticator>> MakeAuthenticator(AuthMethod method,
                                                                 AuthenticatorConfig config) {
  if (!config.lookup) return absl::InvalidArgumentError("authenticator needs a credential lookup");
  if (method != AuthMethod::kPap && !config.random) {
    return absl::InvalidArgumentError("CHAP authenticator needs a random source for challenges");
  }
  if (absl::Status s = CheckTimers(config.restart_timer, config.max_transmissions); !s.ok()) {
    return s;
  }
  if (config.md5_challenge_length < 1 || config.md5_challenge_length > 255) {
    return absl::InvalidArgumentError("CHAP-MD5 challenge length must be 1..255 octets");
  }
  if (method != AuthMethod::kPap) {
    if (absl::Status s = PppCryptoStatus(); !s.ok()) return s;
    return NewChapAuthenticator(method, std::move(config));
  }
  return NewPapAuthenticator(std::move(config));
}

absl::StatusOr<std::unique_ptr<Peer>> MakePeer(AuthMethod method, PeerConfig config) {
  if (absl::Status s = CheckTimers(config.restart_timer, config.max_transmissions); !s.ok()) {
    return s;
  }
  if (method == AuthMethod::kPap) {
    if (config.user.size() > 255 || config.password.size() > 255) {
      return absl::InvalidArgumentError("PAP user name and password are limited to 255 octets");
    }
    return NewPapPeer(std::move(config));
  }
  if (absl::Status s = PppCryptoStatus(); !s.ok()) return s;
  if (method == AuthMethod::kMsChapV2 && !config.random) {
    return absl::InvalidArgumentError("MS-CHAPv2 peer needs a random source for Peer-Challenge");
  }
  if (method == AuthMethod::kMsChapV1 || method == AuthMethod::kMsChapV2) {
    // Fails early on a password MS-CHAP cannot hash (bad UTF-8, more than 256 characters).
    if (absl::StatusOr<NtHash> h = NtPasswordHash(config.password); !h.ok()) return h.status();
  }
  return NewChapPeer(method, std::move(config));
}

}  // namespace ppp
