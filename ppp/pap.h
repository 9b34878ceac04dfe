// PAP (RFC 1334 section 2): packet codec and the two engines behind ppp::MakeAuthenticator and
// ppp::MakePeer (ppp/auth.h).
#ifndef PPP_PAP_H_
#define PPP_PAP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ppp/auth.h"

namespace ppp {

enum class PapCode : uint8_t {
  kAuthenticateRequest = 1,
  kAuthenticateAck = 2,
  kAuthenticateNak = 3,
};

struct PapPacket {
  PapCode code = PapCode::kAuthenticateRequest;
  uint8_t identifier = 0;
  std::string peer_id;   // Request
  std::string password;  // Request
  std::string message;   // Ack, Nak
};

// Strict: the Peer-ID and Passwd lengths (or Msg-Length) must fit inside Length exactly (an Ack or
// Nak of Length 4, with no Msg-Length octet, is accepted as an empty message, as pppd sends).
absl::StatusOr<PapPacket> ParsePapPacket(absl::Span<const uint8_t> packet);

// Fields longer than 255 octets are cut to 255 (the length octets' limit).
std::vector<uint8_t> EncodePapRequest(uint8_t identifier, std::string_view peer_id,
                                      std::string_view password);
std::vector<uint8_t> EncodePapReply(PapCode code, uint8_t identifier, std::string_view message);

// The engines (configs already validated by the factories).
std::unique_ptr<Authenticator> NewPapAuthenticator(AuthenticatorConfig config);
std::unique_ptr<Peer> NewPapPeer(PeerConfig config);

}  // namespace ppp

#endif  // PPP_PAP_H_
