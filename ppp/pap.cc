#include "ppp/pap.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ppp/auth_internal.h"
#include "ppp/ppp_crypto.h"

namespace ppp {

using auth_internal::Av;
using auth_internal::Bytes;
using auth_internal::PutAuthHeader;

absl::StatusOr<PapPacket> ParsePapPacket(absl::Span<const uint8_t> packet) {
  absl::StatusOr<AuthPacketHeader> h = ParseAuthPacketHeader(packet, "PAP");
  if (!h.ok()) return h.status();
  PapPacket p;
  p.identifier = h->identifier;
  absl::Span<const uint8_t> d = h->data;
  switch (h->code) {
    case static_cast<uint8_t>(PapCode::kAuthenticateRequest): {
      p.code = PapCode::kAuthenticateRequest;
      if (d.empty()) return absl::InvalidArgumentError("PAP Authenticate-Request has no Peer-ID");
      size_t id_len = d[0];
      if (1 + id_len + 1 > d.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("PAP Authenticate-Request Peer-ID Length ", id_len,
                         " leaves no room for Passwd-Length in ", d.size(), " octets of data"));
      }
      size_t pw_len = d[1 + id_len];
      if (1 + id_len + 1 + pw_len != d.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("PAP Authenticate-Request fields (Peer-ID ", id_len, ", Passwd ", pw_len,
                         " octets) do not match the packet's ", d.size(), " octets of data"));
      }
      p.peer_id.assign(reinterpret_cast<const char*>(d.data() + 1), id_len);
      p.password.assign(reinterpret_cast<const char*>(d.data() + 2 + id_len), pw_len);
      return p;
    }
    case static_cast<uint8_t>(PapCode::kAuthenticateAck):
    case static_cast<uint8_t>(PapCode::kAuthenticateNak): {
      p.code = static_cast<PapCode>(h->code);
      if (d.empty()) return p;  // No Msg-Length octet at all: an empty message.
      size_t msg_len = d[0];
      if (1 + msg_len != d.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("PAP Authenticate-", h->code == 2 ? "Ack" : "Nak", " Msg-Length ", msg_len,
                         " does not match the packet's ", d.size(), " octets of data"));
      }
      p.message.assign(reinterpret_cast<const char*>(d.data() + 1), msg_len);
      return p;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("PAP packet with unknown Code ", h->code));
  }
}

std::vector<uint8_t> EncodePapRequest(uint8_t identifier, std::string_view peer_id,
                                      std::string_view password) {
  peer_id = peer_id.substr(0, 255);
  password = password.substr(0, 255);
  std::vector<uint8_t> out(4);
  out.push_back(static_cast<uint8_t>(peer_id.size()));
  out.insert(out.end(), peer_id.begin(), peer_id.end());
  out.push_back(static_cast<uint8_t>(password.size()));
  out.insert(out.end(), password.begin(), password.end());
  PutAuthHeader(out, static_cast<uint8_t>(PapCode::kAuthenticateRequest), identifier);
  return out;
}

std::vector<uint8_t> EncodePapReply(PapCode code, uint8_t identifier, std::string_view message) {
  message = message.substr(0, 255);
  std::vector<uint8_t> out(4);
  out.push_back(static_cast<uint8_t>(message.size()));
  out.insert(out.end(), message.begin(), message.end());
  PutAuthHeader(out, static_cast<uint8_t>(code), identifier);
  return out;
}

namespace {

// RFC 1334 section 2.1: the authenticator waits for the peer's Authenticate-Request and answers
// each one with Ack or Nak.
class PapAuthenticator final : public auth_internal::AuthenticatorBase {
 public:
  explicit PapAuthenticator(AuthenticatorConfig config)
      : AuthenticatorBase(AuthMethod::kPap, "PAP", "PAP", std::move(config)) {}

  void Start(absl::Time now) override {
    if (state_ != State::kInitial) return;
    state_ = State::kWaiting;
    deadline_ = now + config_.restart_timer * config_.max_transmissions;
  }

  absl::Status Receive(absl::Span<const uint8_t> packet, absl::Time now) override {
    absl::StatusOr<PapPacket> p = ParsePapPacket(packet);
    if (!p.ok()) return p.status();
    if (p->code != PapCode::kAuthenticateRequest) {
      return absl::InvalidArgumentError("PAP authenticator ignores Ack/Nak");
    }
    // A request that overtakes our Start() (the peer may finish LCP first) is taken as it comes.
    if (state_ == State::kInitial) Start(now);
    switch (state_) {
      case State::kInitial:
        break;
      case State::kWaiting:
        request_ = *std::move(p);
        LookUp();
        return absl::OkStatus();
      case State::kPending:
        return absl::FailedPreconditionError(
            "PAP Authenticate-Request while the previous one is being verified");
      case State::kDone:
        // The peer did not get our answer and asks again (with a new Identifier, as pppd does):
        // repeat the verdict for the same credentials (RFC 1334 section 2.2.2).
        if (reply_code_ && p->peer_id == request_.peer_id &&
            ConstantTimeEqual(Bytes(p->password), Bytes(request_.password))) {
          Send(EncodePapReply(*reply_code_, p->identifier, reply_message_));
          return absl::OkStatus();
        }
        return absl::FailedPreconditionError(
            "PAP Authenticate-Request with other credentials after authentication finished");
    }
    return absl::OkStatus();
  }

  void OnTimer(absl::Time now) override {
    if (!deadline_ || now < *deadline_) return;
    deadline_.reset();
    if (state_ != State::kWaiting) return;
    TimeOut(absl::StrCat("no PAP Authenticate-Request within ",
                         absl::FormatDuration(config_.restart_timer * config_.max_transmissions)));
  }

  std::optional<PresentedCredentials> PendingRequest() const override {
    if (state_ != State::kPending) return std::nullopt;
    PresentedCredentials p;
    p.method = AuthMethod::kPap;
    p.identifier = request_.identifier;
    p.user = request_.peer_id;
    p.password = request_.password;
    return p;
  }

 private:
  const std::string& RequestUser() const override { return request_.peer_id; }

  absl::Status CheckPassword(std::string_view password, AuthResult& r) override {
    r.success = ConstantTimeEqual(Bytes(request_.password), Bytes(password));
    return absl::OkStatus();
  }

  void SendVerdict(const AuthResult& r) override {
    reply_code_ = r.success ? PapCode::kAuthenticateAck : PapCode::kAuthenticateNak;
    reply_message_ = r.success ? config_.success_message : config_.failure_message;
    Send(EncodePapReply(*reply_code_, request_.identifier, reply_message_));
  }

  PapPacket request_;
  std::optional<PapCode> reply_code_;
  std::string reply_message_;
};

// RFC 1334 section 2.1: the peer sends Authenticate-Request until it gets Ack or Nak, or the
// retry counter runs out.
class PapPeer final : public Peer {
 public:
  explicit PapPeer(PeerConfig config) : config_(std::move(config)) {}

  AuthMethod method() const override { return AuthMethod::kPap; }

  void Start(absl::Time now) override {
    if (started_) return;
    started_ = true;
    Transmit(now);
  }

  absl::Status Receive(absl::Span<const uint8_t> packet, absl::Time now) override {
    absl::StatusOr<PapPacket> p = ParsePapPacket(packet);
    if (!p.ok()) return p.status();
    if (p->code == PapCode::kAuthenticateRequest) {
      return absl::InvalidArgumentError("PAP peer ignores Authenticate-Request");
    }
    if (!started_ || transmissions_ == 0) {
      return absl::FailedPreconditionError("PAP reply before any Authenticate-Request");
    }
    if (p->identifier != identifier_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PAP reply Identifier ", p->identifier, " does not match the request's ", identifier_));
    }
    if (result() != nullptr) return absl::OkStatus();  // A duplicate answer.
    deadline_.reset();
    AuthResult r;
    r.method = AuthMethod::kPap;
    r.role = AuthRole::kPeer;
    r.user = config_.user;
    if (p->code == PapCode::kAuthenticateAck) {
      r.success = true;
      r.message = absl::StrCat("PAP: authenticated as \"", config_.user, "\"");
    } else {
      r.failure = AuthFailure::kRejected;
      r.message = absl::StrCat("PAP: authenticator sent Nak");
    }
    if (!p->message.empty()) absl::StrAppend(&r.message, ": ", p->message);
    Finish(std::move(r));
    return absl::OkStatus();
  }

  std::optional<absl::Time> NextDeadline() const override { return deadline_; }

  void OnTimer(absl::Time now) override {
    if (!deadline_ || now < *deadline_ || result() != nullptr) return;
    if (transmissions_ >= config_.max_transmissions) {
      deadline_.reset();
      AuthResult r;
      r.method = AuthMethod::kPap;
      r.role = AuthRole::kPeer;
      r.user = config_.user;
      r.failure = AuthFailure::kTimeout;
      r.message = absl::StrCat("PAP: no answer to ", transmissions_, " Authenticate-Requests");
      Finish(std::move(r));
      return;
    }
    ++identifier_;  // A new Identifier for each request, as pppd does.
    Transmit(now);
  }

 private:
  void Transmit(absl::Time now) {
    Send(EncodePapRequest(identifier_, config_.user, config_.password));
    ++transmissions_;
    deadline_ = now + config_.restart_timer;
  }

  PeerConfig config_;
  bool started_ = false;
  uint8_t identifier_ = 1;
  int transmissions_ = 0;
  std::optional<absl::Time> deadline_;
};

}  // namespace

std::unique_ptr<Authenticator> NewPapAuthenticator(AuthenticatorConfig config) {
  return std::make_unique<PapAuthenticator>(std::move(config));
}

std::unique_ptr<Peer> NewPapPeer(PeerConfig config) {
  return std::make_unique<PapPeer>(std::move(config));
}

}  // namespace ppp
