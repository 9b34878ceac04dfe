// PPP authentication phase (RFC 1661 section 3.5), both roles, with no I/O.
//
// One engine per link and direction of authentication: an Authenticator (the server side: it asks
// for and checks credentials) or a Peer (the side that proves its identity). The engine works on
// the payload of PPP frames of its protocol, protocol() (0xC023 PAP, 0xC223 CHAP): the 4-byte
// header (code, identifier, length) and the data. It is driven by injected time:
//
//   auto engine = ppp::MakeAuthenticator(ppp::AuthMethod::kMsChapV2, config);
//   engine->Start(now);                       // after LCP opened (and the ppp::Session says so)
//   for (auto& p : engine->TakeOutput()) send_frame(engine->protocol(), p);
//   ... on a frame with engine->protocol():  engine->Receive(payload, now); drain TakeOutput()
//   ... when now >= *engine->NextDeadline(): engine->OnTimer(now);          drain TakeOutput()
//   if (const ppp::AuthResult* r = engine->result()) { r->success ? network phase : terminate }
//
// The engine keeps answering after it has a result (it resends Success/Ack for a retransmitted
// Response/Request whose answer was lost), so keep feeding it frames of its protocol until LCP
// closes.
#ifndef PPP_AUTH_H_
#define PPP_AUTH_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ppp/mppe.h"  // MppeKeys

namespace ppp {

// PPP protocol numbers of the authentication protocols (RFC 1334, RFC 1994).
inline constexpr uint16_t kProtocolPap = 0xC023;
inline constexpr uint16_t kProtocolChap = 0xC223;

// CHAP algorithm octets of the LCP Authentication-Protocol option (RFC 1994 section 3, RFC 2433
// section 2, RFC 2759 section 2).
inline constexpr uint8_t kChapAlgorithmMd5 = 0x05;
inline constexpr uint8_t kChapAlgorithmMsChapV1 = 0x80;
inline constexpr uint8_t kChapAlgorithmMsChapV2 = 0x81;

enum class AuthMethod : uint8_t {
  kPap,       // RFC 1334
  kChapMd5,   // RFC 1994, algorithm 5
  kMsChapV1,  // RFC 2433, algorithm 0x80
  kMsChapV2,  // RFC 2759, algorithm 0x81
};

enum class AuthRole : uint8_t { kAuthenticator, kPeer };

// "pap", "chap", "mschap1", "mschap2": the RouterOS names (/ppp profile authentication=...).
std::string_view AuthMethodName(AuthMethod method);
// Parses the RouterOS names above (case-insensitive).
absl::StatusOr<AuthMethod> AuthMethodFromName(std::string_view name);

// The PPP protocol an engine for `method` speaks: kProtocolPap or kProtocolChap.
uint16_t AuthProtocol(AuthMethod method);

// Data of the LCP Authentication-Protocol option (type 3, RFC 1661 section 6.2) for `method`: the
// 2-byte protocol, and for CHAP the algorithm octet. {C0 23} or {C2 23 alg}.
std::vector<uint8_t> EncodeAuthOption(AuthMethod method);
// Parses that option's data. Errors (for a Configure-Nak/Reject decision) name what is unsupported.
absl::StatusOr<AuthMethod> ParseAuthOption(absl::Span<const uint8_t> data);

// The 4-byte header every PAP and CHAP packet starts with (RFC 1334 section 2.2, RFC 1994
// section 4). ParseAuthPacketHeader checks Length >= 4 and Length <= packet size; octets after
// Length are padding and are not part of `data` (RFC 1661 section 5).
struct AuthPacketHeader {
  uint8_t code = 0;
  uint8_t identifier = 0;
  absl::Span<const uint8_t> data;  // Length - 4 octets after the header
};
absl::StatusOr<AuthPacketHeader> ParseAuthPacketHeader(absl::Span<const uint8_t> packet,
                                                       std::string_view protocol_name);

// Why authentication failed. The text for logs is AuthResult::message.
enum class AuthFailure : uint8_t {
  kNone,
  kWrongPassword,             // authenticator: the response does not match the user's password
  kNoSuchUser,                // authenticator: the credential lookup does not know the user
  kDisabled,                  // authenticator: the user exists but is disabled
  kTimeout,                   // either role: no answer after the configured retransmissions
  kBadAuthenticatorResponse,  // peer, MS-CHAPv2: the Success S= value is wrong (no mutual auth)
  kRejected,                  // peer: the authenticator sent PAP Nak / CHAP Failure
  kUnsupported,               // peer: the authenticator asked for another CHAP algorithm
  kBackendError,              // authenticator: the credential backend failed
};
std::string_view AuthFailureName(AuthFailure failure);

struct AuthResult {
  bool success = false;
  AuthMethod method = AuthMethod::kPap;
  AuthRole role = AuthRole::kAuthenticator;
  // The authenticated (or attempted) user name as sent by the peer; on the peer, its own name.
  std::string user;
  // Set on success with MS-CHAPv1/v2: this role's MPPE master send/receive keys (ppp/mppe.h).
  // SSTP crypto binding HLAK: authenticator receive||send, peer send||receive.
  std::optional<MppeKeys> mppe;
  AuthFailure failure = AuthFailure::kNone;
  // Human-readable for logs, e.g. "user \"bob\": wrong password" or the authenticator's message.
  std::string message;
};

// What the authenticator's credential backend answers for a user name.
struct Credential {
  enum class Status : uint8_t {
    kFound,     // `password` (UTF-8) is the user's secret
    kNotFound,  // no such user
    kDisabled,  // the user exists but may not log in
    kPending,   // asynchronous backend: the answer comes later through SupplyCredential() or
                // CompleteVerification()
    kError,     // the backend failed (message in `error`)
  };
  Status status = Status::kNotFound;
  std::string password;
  std::string error;

  static Credential Found(std::string password) {
    return Credential{Status::kFound, std::move(password), {}};
  }
  static Credential NotFound() { return Credential{Status::kNotFound, {}, {}}; }
  static Credential Disabled() { return Credential{Status::kDisabled, {}, {}}; }
  static Credential Pending() { return Credential{Status::kPending, {}, {}}; }
  static Credential Error(std::string message) {
    return Credential{Status::kError, {}, std::move(message)};
  }
};

// Called by the authenticator with the user name the peer sent. Synchronous backends (the local
// /ppp secret table) answer at once; an asynchronous one (RADIUS later) returns Pending(), starts
// its query, and the owner calls Authenticator::SupplyCredential() when the answer arrives.
using CredentialLookup = std::function<Credential(std::string_view user)>;

// Fills the span with unpredictable bytes (CHAP challenges, MS-CHAPv2 peer challenges). Inject
// ppp::CryptoRandom() (ppp/ppp_crypto.h) in production and a scripted source in tests.
using RandomSource = std::function<void(absl::Span<uint8_t> out)>;

struct AuthenticatorConfig {
  // CHAP Name field of the Challenge (RFC 1994 section 4.1): the system's identity.
  std::string name = "sstp";
  CredentialLookup lookup;
  RandomSource random;
  // CHAP: the Challenge is resent every restart_timer, at most max_transmissions times in all
  // (RFC 1994 section 4.1); then the result is kTimeout. PAP: the authenticator does not transmit
  // first (RFC 1334 section 2.1); it waits restart_timer * max_transmissions for a request.
  absl::Duration restart_timer = absl::Seconds(3);
  int max_transmissions = 10;
  // CHAP-MD5 challenge length (RFC 1994 leaves it to the implementation); MS-CHAP fixes 8 and 16.
  int md5_challenge_length = 16;
  // Text for Success/Ack (the M= of MS-CHAPv2's "S=<hex> M=<text>") and for Failure/Nak.
  std::string success_message = "Welcome";
  std::string failure_message = "Authentication failed";
};

struct PeerConfig {
  std::string user;      // PAP Peer-ID / CHAP Name (MS-CHAP: may carry a DOMAIN\ prefix)
  std::string password;  // UTF-8 (MS-CHAP hashes it as UTF-16LE)
  RandomSource random;   // MS-CHAPv2 Peer-Challenge
  // PAP: the Authenticate-Request is resent every restart_timer, at most max_transmissions times.
  // CHAP: the peer waits restart_timer * max_transmissions for a Challenge; after answering it
  // resends its Response every restart_timer (the authenticator repeats its verdict for a
  // repeated Response, so a lost Success is recovered), at most max_transmissions times.
  absl::Duration restart_timer = absl::Seconds(3);
  int max_transmissions = 10;
};

// The engine interface common to both roles and all methods.
class AuthEngine {
 public:
  virtual ~AuthEngine() = default;

  virtual AuthMethod method() const = 0;
  virtual AuthRole role() const = 0;
  uint16_t protocol() const { return AuthProtocol(method()); }

  // Begins authentication (RFC 1661 Authenticate phase): the CHAP authenticator sends its
  // Challenge, the PAP peer its Authenticate-Request; the others arm their wait timer.
  virtual void Start(absl::Time now) = 0;

  // One received packet of protocol(): code, identifier, length, data. A packet before Start()
  // starts the engine first (a peer's request may overtake the local LCP Open). Malformed packets
  // and packets that do not fit the state are dropped (RFC 1994 section 4) and the returned status
  // says why (for a debug log); the engine itself is unaffected by them.
  virtual absl::Status Receive(absl::Span<const uint8_t> packet, absl::Time now) = 0;

  // When OnTimer must next be called; nullopt when no timer is armed.
  virtual std::optional<absl::Time> NextDeadline() const = 0;
  virtual void OnTimer(absl::Time now) = 0;

  // Packets to send since the last call, each the payload of one frame of protocol().
  std::vector<std::vector<uint8_t>> TakeOutput() {
    std::vector<std::vector<uint8_t>> out;
    out.swap(output_);
    return out;
  }
  bool HasOutput() const { return !output_.empty(); }

  // nullptr until authentication has finished; then the outcome, which never changes.
  const AuthResult* result() const { return result_ ? &*result_ : nullptr; }

 protected:
  void Send(std::vector<uint8_t> packet) { output_.push_back(std::move(packet)); }
  void Finish(AuthResult result) {
    if (!result_) result_ = std::move(result);
  }

 private:
  std::vector<std::vector<uint8_t>> output_;
  std::optional<AuthResult> result_;
};

// What the peer presented, for an external verifier (see Authenticator::PendingRequest).
struct PresentedCredentials {
  AuthMethod method = AuthMethod::kPap;
  uint8_t identifier = 0;          // of the Request / Response (CHAP: also of the Challenge)
  std::string user;                // Peer-ID / Name as sent
  std::string password;            // PAP only
  std::vector<uint8_t> challenge;  // CHAP: the Challenge Value this authenticator sent
  std::vector<uint8_t> response;   // CHAP: the Response Value (16 or 49 octets)
};

// An external verifier's answer (see Authenticator::CompleteVerification).
struct ExternalVerdict {
  bool success = false;
  AuthFailure failure = AuthFailure::kWrongPassword;  // when !success
  std::string reason;                                 // for the log, e.g. the RADIUS Reply-Message
  std::string authenticator_response;                 // MS-CHAPv2 success: "S=<40 hex>"
  std::optional<MppeKeys> mppe;                       // MS-CHAP success: the authenticator's keys
};

// The authenticator role adds the asynchronous credential path.
class Authenticator : public AuthEngine {
 public:
  AuthRole role() const override { return AuthRole::kAuthenticator; }

  // The user name whose Credential lookup returned Pending(), while it is outstanding.
  virtual std::optional<std::string> PendingLookup() const = 0;
  // Completes a Pending() lookup for `user` (ignored unless it is the outstanding one; the answer
  // must not be Pending()). Verifies the held packet and sends Success/Failure or Ack/Nak.
  virtual absl::Status SupplyCredential(std::string_view user, Credential credential,
                                        absl::Time now) = 0;

  // For a backend that checks the peer's answer itself and never reveals a password (RADIUS:
  // User-Password, CHAP-Challenge/CHAP-Password, MS-CHAP-Challenge/MS-CHAP(2)-Response): while a
  // lookup is Pending(), what the peer presented; nullopt otherwise.
  virtual std::optional<PresentedCredentials> PendingRequest() const = 0;
  // Completes a Pending() lookup with the backend's verdict instead of a password: sends
  // Success/Failure (Ack/Nak) and finishes. For MS-CHAPv2 success the verdict must carry the
  // authenticator response ("S=" and 40 hex digits, RADIUS MS-CHAP2-Success).
  virtual absl::Status CompleteVerification(ExternalVerdict verdict, absl::Time now) = 0;
};

class Peer : public AuthEngine {
 public:
  AuthRole role() const override { return AuthRole::kPeer; }
};

// Factories. The config is copied. Errors: missing lookup/random, bad timer values.
absl::StatusOr<std::unique_ptr<Authenticator>> MakeAuthenticator(AuthMethod method,
                                                                 AuthenticatorConfig config);
absl::StatusOr<std::unique_ptr<Peer>> MakePeer(AuthMethod method, PeerConfig config);

}  // namespace ppp

#endif  // PPP_AUTH_H_
