// CHAP (RFC 1994) with the algorithms MD5 (5), MS-CHAPv1 (0x80, RFC 2433) and MS-CHAPv2 (0x81,
// RFC 2759): packet codec, the MD5 response, and the engines behind ppp::MakeAuthenticator and
// ppp::MakePeer (ppp/auth.h).
#ifndef PPP_CHAP_H_
#define PPP_CHAP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ppp/auth.h"
#include "ppp/ppp_crypto.h"

namespace ppp {

enum class ChapCode : uint8_t {
  kChallenge = 1,
  kResponse = 2,
  kSuccess = 3,
  kFailure = 4,
};

struct ChapPacket {
  ChapCode code = ChapCode::kChallenge;
  uint8_t identifier = 0;
  std::vector<uint8_t> value;  // Challenge, Response: 1..255 octets
  std::string name;            // Challenge, Response: the rest of the packet
  std::string message;         // Success, Failure: the whole data field
};

// Strict: Challenge/Response need Value-Size >= 1 and Value inside Length; Length >= 4 always.
absl::StatusOr<ChapPacket> ParseChapPacket(absl::Span<const uint8_t> packet);

// Challenge or Response (value: 1..255 octets; the name is cut so the packet fits 65535 octets).
std::vector<uint8_t> EncodeChapChallengeOrResponse(ChapCode code, uint8_t identifier,
                                                   absl::Span<const uint8_t> value,
                                                   std::string_view name);
// Success or Failure with its message.
std::vector<uint8_t> EncodeChapResult(ChapCode code, uint8_t identifier, std::string_view message);

// RFC 1994 section 4.1 with MD5: MD5(Identifier || secret || Challenge).
absl::StatusOr<Md5Digest> ChapMd5Response(uint8_t identifier, std::string_view secret,
                                          absl::Span<const uint8_t> challenge);

// The algorithm octet for a CHAP method (kChapAlgorithmMd5, ...MsChapV1, ...MsChapV2).
uint8_t ChapAlgorithmOf(AuthMethod method);

// The engines (configs already validated by the factories).
std::unique_ptr<Authenticator> NewChapAuthenticator(AuthMethod method, AuthenticatorConfig config);
std::unique_ptr<Peer> NewChapPeer(AuthMethod method, PeerConfig config);

}  // namespace ppp

#endif  // PPP_CHAP_H_
