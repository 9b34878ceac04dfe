#include "ppp/chap.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ppp/auth_internal.h"
#include "ppp/mppe.h"
#include "ppp/mschap.h"

namespace ppp {

using auth_internal::Av;
using auth_internal::Bytes;
using auth_internal::PutAuthHeader;

namespace {

const char* CodeName(ChapCode c) {
  switch (c) {
    case ChapCode::kChallenge:
      return "Challenge";
    case ChapCode::kResponse:
      return "Response";
    case ChapCode::kSuccess:
      return "Success";
    case ChapCode::kFailure:
      return "Failure";
  }
  return "?";
}

const char* MethodLabel(AuthMethod m) {
  switch (m) {
    case AuthMethod::kChapMd5:
      return "CHAP-MD5";
    case AuthMethod::kMsChapV1:
      return "MS-CHAPv1";
    case AuthMethod::kMsChapV2:
      return "MS-CHAPv2";
    case AuthMethod::kPap:
      break;
  }
  return "PAP";
}

}  // namespace

absl::StatusOr<ChapPacket> ParseChapPacket(absl::Span<const uint8_t> packet) {
  absl::StatusOr<AuthPacketHeader> h = ParseAuthPacketHeader(packet, "CHAP");
  if (!h.ok()) return h.status();
  if (h->code < 1 || h->code > 4) {
    return absl::InvalidArgumentError(absl::StrCat("CHAP packet with unknown Code ", h->code));
  }
  ChapPacket p;
  p.code = static_cast<ChapCode>(h->code);
  p.identifier = h->identifier;
  absl::Span<const uint8_t> d = h->data;
  if (p.code == ChapCode::kChallenge || p.code == ChapCode::kResponse) {
    if (d.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("CHAP ", CodeName(p.code), " has no Value-Size octet"));
    }
    size_t size = d[0];
    if (size == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("CHAP ", CodeName(p.code), " Value-Size is 0 (RFC 1994 needs >= 1)"));
    }
    if (1 + size > d.size()) {
      return absl::InvalidArgumentError(absl::StrCat("CHAP ", CodeName(p.code), " Value-Size ",
                                                     size, " exceeds the packet's ", d.size() - 1,
                                                     " octets after it"));
    }
    p.value.assign(d.begin() + 1, d.begin() + 1 + size);
    p.name.assign(reinterpret_cast<const char*>(d.data() + 1 + size), d.size() - 1 - size);
  } else {
    p.message.assign(reinterpret_cast<const char*>(d.data()), d.size());
  }
  return p;
}

std::vector<uint8_t> EncodeChapChallengeOrResponse(ChapCode code, uint8_t identifier,
                                                   absl::Span<const uint8_t> value,
                                                   std::string_view name) {
  value = value.subspan(0, 255);
  name = name.substr(0, 65535 - 5 - value.size());
  std::vector<uint8_t> out(4);
  out.reserve(5 + value.size() + name.size());
  out.push_back(static_cast<uint8_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
  out.insert(out.end(), name.begin(), name.end());
  PutAuthHeader(out, static_cast<uint8_t>(code), identifier);
  return out;
}

std::vector<uint8_t> EncodeChapResult(ChapCode code, uint8_t identifier, std::string_view message) {
  message = message.substr(0, 65535 - 4);
  std::vector<uint8_t> out(4);
  out.insert(out.end(), message.begin(), message.end());
  PutAuthHeader(out, static_cast<uint8_t>(code), identifier);
  return out;
}

absl::StatusOr<Md5Digest> ChapMd5Response(uint8_t identifier, std::string_view secret,
                                          absl::Span<const uint8_t> challenge) {
  const uint8_t id[1] = {identifier};
  return Md5({id, Bytes(secret), challenge});
}

uint8_t ChapAlgorithmOf(AuthMethod method) {
  switch (method) {
    case AuthMethod::kMsChapV1:
      return kChapAlgorithmMsChapV1;
    case AuthMethod::kMsChapV2:
      return kChapAlgorithmMsChapV2;
    default:
      return kChapAlgorithmMd5;
  }
}

namespace {

size_t ChallengeSize(AuthMethod m, int md5_length) {
  switch (m) {
    case AuthMethod::kMsChapV1:
      return kMsChapV1ChallengeSize;
    case AuthMethod::kMsChapV2:
      return kMsChapV2ChallengeSize;
    default:
      return static_cast<size_t>(md5_length);
  }
}

// RFC 1994 section 2.3 / 4: the authenticator sends a Challenge, resends it on its restart timer,
// checks the Response against the secret from the credential lookup and answers Success or
// Failure; the answer is resent for a repeated Response with the same Identifier.
class ChapAuthenticator final : public auth_internal::AuthenticatorBase {
 public:
  ChapAuthenticator(AuthMethod method, AuthenticatorConfig config)
      : AuthenticatorBase(method, "CHAP", MethodLabel(method), std::move(config)) {}

  void Start(absl::Time now) override {
    if (state_ != State::kInitial) return;
    challenge_.resize(ChallengeSize(method_, config_.md5_challenge_length));
    config_.random(absl::MakeSpan(challenge_));
    uint8_t id = 0;
    config_.random(absl::MakeSpan(&id, 1));
    identifier_ = id;
    challenge_packet_ =
        EncodeChapChallengeOrResponse(ChapCode::kChallenge, identifier_, challenge_, config_.name);
    state_ = State::kWaiting;
    Transmit(now);
  }

  absl::Status Receive(absl::Span<const uint8_t> packet, absl::Time now) override {
    absl::StatusOr<ChapPacket> p = ParseChapPacket(packet);
    if (!p.ok()) return p.status();
    if (p->code != ChapCode::kResponse) {
      return absl::InvalidArgumentError(
          absl::StrCat("CHAP authenticator ignores ", CodeName(p->code)));
    }
    if (state_ == State::kInitial) {
      return absl::FailedPreconditionError("CHAP Response before any Challenge");
    }
    if (p->identifier != identifier_) {
      return absl::InvalidArgumentError(absl::StrCat("CHAP Response Identifier ", p->identifier,
                                                     " does not match the Challenge's ",
                                                     identifier_));
    }
    switch (state_) {
      case State::kInitial:
        break;
      case State::kWaiting: {
        if (absl::Status s = CheckValue(p->value); !s.ok()) return s;
        response_ = *std::move(p);
        LookUp();
        return absl::OkStatus();
      }
      case State::kPending:
        return absl::FailedPreconditionError(
            "CHAP Response repeated while the first one is being verified");
      case State::kDone:
        // RFC 1994 section 4.2: our Success/Failure was lost and the peer answered the repeated
        // Challenge again; repeat the verdict.
        if (!reply_packet_.empty()) Send(reply_packet_);
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  void OnTimer(absl::Time now) override {
    if (!deadline_ || now < *deadline_ || state_ != State::kWaiting) return;
    if (transmissions_ >= config_.max_transmissions) {
      TimeOut(
          absl::StrCat(MethodLabel(method_), ": no Response to ", transmissions_, " Challenges"));
      return;
    }
    Transmit(now);
  }

  std::optional<PresentedCredentials> PendingRequest() const override {
    if (state_ != State::kPending) return std::nullopt;
    PresentedCredentials p;
    p.method = method_;
    p.identifier = identifier_;
    p.user = response_.name;
    p.challenge = challenge_;
    p.response = response_.value;
    return p;
  }

 private:
  const std::string& RequestUser() const override { return response_.name; }

  // An external verifier's MS-CHAPv2 success must carry the authenticator response for the
  // Success message; MS-CHAP successes carry the keys.
  absl::Status TakeVerdict(const ExternalVerdict& verdict, AuthResult& r) override {
    if (verdict.success && method_ == AuthMethod::kMsChapV2) {
      absl::StatusOr<MsChapV2Success> s = ParseMsChapV2Success(verdict.authenticator_response);
      if (!s.ok() || verdict.authenticator_response.size() != 42) {
        return absl::InvalidArgumentError(
            "MS-CHAPv2 success verdict needs the authenticator response \"S=<40 hex digits>\"");
      }
    }
    if (verdict.success && method_ != AuthMethod::kChapMd5) r.mppe = verdict.mppe;
    auth_response_ = absl::AsciiStrToUpper(Av(verdict.authenticator_response));
    return absl::OkStatus();
  }

  void Transmit(absl::Time now) {
    Send(challenge_packet_);
    ++transmissions_;
    deadline_ = now + config_.restart_timer;
  }

  absl::Status CheckValue(absl::Span<const uint8_t> value) const {
    switch (method_) {
      case AuthMethod::kChapMd5:
        if (value.size() != 16) {
          return absl::InvalidArgumentError(absl::StrCat(
              "CHAP-MD5 Response Value is ", value.size(), " octets; an MD5 digest is 16"));
        }
        return absl::OkStatus();
      case AuthMethod::kMsChapV1:
        return ParseMsChapV1ResponseValue(value).status();
      case AuthMethod::kMsChapV2:
        return ParseMsChapV2ResponseValue(value).status();
      case AuthMethod::kPap:
        break;
    }
    return absl::InternalError("CHAP engine with method PAP");
  }

  // Checks the held Response with the user's password. Sets r.success, r.mppe and, for
  // MS-CHAPv2, the authenticator response for the Success message.
  absl::Status CheckPassword(std::string_view password, AuthResult& r) override {
    switch (method_) {
      case AuthMethod::kChapMd5: {
        absl::StatusOr<Md5Digest> want = ChapMd5Response(identifier_, password, challenge_);
        if (!want.ok()) return want.status();
        r.success = ConstantTimeEqual(*want, response_.value);
        return absl::OkStatus();
      }
      case AuthMethod::kMsChapV1: {
        absl::StatusOr<MsChapV1ResponseValue> v = ParseMsChapV1ResponseValue(response_.value);
        if (!v.ok()) return v.status();
        if (v->use_nt != 1) {
          // Only a LAN Manager response: too weak, and Windows never sends one alone.
          r.success = false;
          return absl::OkStatus();
        }
        MsChapChallenge8 ch;
        std::copy_n(challenge_.begin(), 8, ch.begin());
        absl::StatusOr<MsChapResponse24> want = NtChallengeResponse(ch, password);
        if (!want.ok()) return want.status();
        r.success = ConstantTimeEqual(*want, v->nt_response);
        if (r.success) {
          absl::StatusOr<MppeKeys> keys = MsChapV1MppeKeys(password, ch);
          if (!keys.ok()) return keys.status();
          r.mppe = *keys;
        }
        return absl::OkStatus();
      }
      case AuthMethod::kMsChapV2: {
        absl::StatusOr<MsChapV2ResponseValue> v = ParseMsChapV2ResponseValue(response_.value);
        if (!v.ok()) return v.status();
        std::array<uint8_t, 16> auth_ch;
        std::copy_n(challenge_.begin(), 16, auth_ch.begin());
        absl::StatusOr<NtHash> hash = NtPasswordHash(password);
        if (!hash.ok()) return hash.status();
        absl::StatusOr<MsChapChallenge8> ch =
            ChallengeHash(v->peer_challenge, auth_ch, response_.name);
        if (!ch.ok()) return ch.status();
        absl::StatusOr<MsChapResponse24> want = ChallengeResponse(*ch, *hash);
        if (!want.ok()) return want.status();
        r.success = ConstantTimeEqual(*want, v->nt_response);
        if (r.success) {
          absl::StatusOr<std::string> s = GenerateAuthenticatorResponseFromHash(
              *hash, v->nt_response, v->peer_challenge, auth_ch, response_.name);
          if (!s.ok()) return s.status();
          auth_response_ = *std::move(s);
          absl::StatusOr<MppeKeys> keys =
              MsChapV2MppeKeysFromHash(*hash, v->nt_response, /*is_server=*/true);
          if (!keys.ok()) return keys.status();
          r.mppe = *keys;
        }
        return absl::OkStatus();
      }
      case AuthMethod::kPap:
        break;
    }
    return absl::InternalError("CHAP engine with method PAP");
  }

  std::string FailureMessage(int error) {
    if (method_ == AuthMethod::kChapMd5) return config_.failure_message;
    // RFC 2759 section 6 / RFC 2433 section 5.3. R=0: no retry, the link goes down. C= is a fresh
    // challenge, as the format requires one.
    MsChapFailure f;
    f.error = error;
    f.retry = false;
    f.challenge.resize(method_ == AuthMethod::kMsChapV2 ? 16 : 8);
    config_.random(absl::MakeSpan(f.challenge));
    if (method_ == AuthMethod::kMsChapV2) {
      f.version = 3;
      f.message = config_.failure_message;
    }
    return FormatMsChapFailure(f);
  }

  // RFC 1994 section 4.2 (MS-CHAP: RFC 2433 section 5, RFC 2759 section 5/6): Success carries
  // the MS-CHAPv2 authenticator response; Failure the MS-CHAP error (647 for a disabled account).
  void SendVerdict(const AuthResult& r) override {
    std::string message;
    if (r.success) {
      message = method_ == AuthMethod::kMsChapV2
                    ? FormatMsChapV2Success(auth_response_, config_.success_message)
                    : config_.success_message;
    } else {
      message =
          FailureMessage(r.failure == AuthFailure::kDisabled ? kMsChapErrorAccountDisabled
                                                             : kMsChapErrorAuthenticationFailure);
    }
    reply_packet_ =
        EncodeChapResult(r.success ? ChapCode::kSuccess : ChapCode::kFailure, identifier_, message);
    Send(reply_packet_);
  }

  int transmissions_ = 0;
  uint8_t identifier_ = 0;
  std::vector<uint8_t> challenge_;
  std::vector<uint8_t> challenge_packet_;
  ChapPacket response_;
  std::vector<uint8_t> reply_packet_;
  std::string auth_response_;  // MS-CHAPv2: "S=<40 hex digits>" for the Success message
};

// RFC 1994 section 2.3: the peer answers each Challenge (a repeated one with the same Response)
// and waits for Success or Failure. With MS-CHAPv2 it also checks the authenticator's proof in
// Success (RFC 2759 section 5): a wrong one fails the authentication.
class ChapPeer final : public Peer {
 public:
  ChapPeer(AuthMethod method, PeerConfig config) : method_(method), config_(std::move(config)) {}

  AuthMethod method() const override { return method_; }

  void Start(absl::Time now) override {
    if (started_) return;
    started_ = true;
    deadline_ = now + WaitTime();
  }

  absl::Status Receive(absl::Span<const uint8_t> packet, absl::Time now) override {
    absl::StatusOr<ChapPacket> p = ParseChapPacket(packet);
    if (!p.ok()) return p.status();
    // A Challenge that overtakes our Start() (the authenticator may finish LCP first) is answered.
    if (!started_) Start(now);
    switch (p->code) {
      case ChapCode::kChallenge:
        return OnChallenge(*p, now);
      case ChapCode::kSuccess:
      case ChapCode::kFailure:
        return OnResult(*p);
      case ChapCode::kResponse:
        break;
    }
    return absl::InvalidArgumentError("CHAP peer ignores Response");
  }

  std::optional<absl::Time> NextDeadline() const override { return deadline_; }

  void OnTimer(absl::Time now) override {
    if (!deadline_ || now < *deadline_ || result() != nullptr) return;
    if (responded_ && response_transmissions_ < config_.max_transmissions) {
      // Success or Failure did not come: the Response (or the answer) was lost. Resending the
      // Response makes the authenticator repeat its answer (RFC 1994 section 4.2), so a lost
      // Success does not cost the link.
      Send(response_packet_);
      ++response_transmissions_;
      deadline_ = now + config_.restart_timer;
      return;
    }
    deadline_.reset();
    AuthResult r = BaseResult();
    r.failure = AuthFailure::kTimeout;
    r.message = responded_ ? absl::StrCat(MethodLabel(method_), ": no Success or Failure after ",
                                          response_transmissions_, " Responses")
                           : absl::StrCat(MethodLabel(method_), ": no Challenge within ",
                                          absl::FormatDuration(WaitTime()));
    Finish(std::move(r));
  }

 private:
  absl::Duration WaitTime() const { return config_.restart_timer * config_.max_transmissions; }

  AuthResult BaseResult() const {
    AuthResult r;
    r.method = method_;
    r.role = AuthRole::kPeer;
    r.user = config_.user;
    return r;
  }

  absl::Status OnChallenge(const ChapPacket& p, absl::Time now) {
    size_t want = ChallengeSize(method_, 0);
    if (method_ != AuthMethod::kChapMd5 && p.value.size() != want) {
      return absl::InvalidArgumentError(absl::StrCat(MethodLabel(method_), " Challenge Value is ",
                                                     p.value.size(), " octets; it must be ", want));
    }
    if (responded_ && p.identifier == identifier_ && p.value == challenge_) {
      // The authenticator repeats its Challenge: our Response was lost. Same answer again.
      Send(response_packet_);
      if (result() == nullptr) deadline_ = now + config_.restart_timer;
      return absl::OkStatus();
    }
    std::vector<uint8_t> value;
    switch (method_) {
      case AuthMethod::kChapMd5: {
        absl::StatusOr<Md5Digest> d = ChapMd5Response(p.identifier, config_.password, p.value);
        if (!d.ok()) return d.status();
        value.assign(d->begin(), d->end());
        break;
      }
      case AuthMethod::kMsChapV1: {
        MsChapChallenge8 ch;
        std::copy_n(p.value.begin(), 8, ch.begin());
        absl::StatusOr<MsChapResponse24> nt = NtChallengeResponse(ch, config_.password);
        if (!nt.ok()) return nt.status();
        MsChapV1ResponseValue v;  // LM-Response zero, "use NT" set, as Windows sends.
        v.nt_response = *nt;
        auto enc = EncodeMsChapV1ResponseValue(v);
        value.assign(enc.begin(), enc.end());
        break;
      }
      case AuthMethod::kMsChapV2: {
        MsChapV2ResponseValue v;
        config_.random(absl::MakeSpan(v.peer_challenge));
        std::array<uint8_t, 16> auth_ch;
        std::copy_n(p.value.begin(), 16, auth_ch.begin());
        absl::StatusOr<MsChapResponse24> nt =
            GenerateNTResponse(auth_ch, v.peer_challenge, config_.user, config_.password);
        if (!nt.ok()) return nt.status();
        v.nt_response = *nt;
        v2_ = v;
        auto enc = EncodeMsChapV2ResponseValue(v);
        value.assign(enc.begin(), enc.end());
        break;
      }
      case AuthMethod::kPap:
        return absl::InternalError("CHAP engine with method PAP");
    }
    identifier_ = p.identifier;
    challenge_ = p.value;
    responded_ = true;
    response_packet_ =
        EncodeChapChallengeOrResponse(ChapCode::kResponse, identifier_, value, config_.user);
    Send(response_packet_);
    response_transmissions_ = 1;
    if (result() == nullptr) deadline_ = now + config_.restart_timer;
    return absl::OkStatus();
  }

  absl::Status OnResult(const ChapPacket& p) {
    if (!responded_) {
      return absl::FailedPreconditionError(
          absl::StrCat("CHAP ", CodeName(p.code), " before any Response"));
    }
    if (p.identifier != identifier_) {
      return absl::InvalidArgumentError(
          absl::StrCat("CHAP ", CodeName(p.code), " Identifier ", p.identifier,
                       " does not match the Response's ", identifier_));
    }
    if (result() != nullptr) return absl::OkStatus();  // A repeated answer, or a re-challenge's.
    deadline_.reset();
    AuthResult r = BaseResult();
    if (p.code == ChapCode::kFailure) {
      r.failure = AuthFailure::kRejected;
      r.message = absl::StrCat(MethodLabel(method_), ": authenticator sent Failure");
      if (method_ != AuthMethod::kChapMd5) {
        absl::StatusOr<MsChapFailure> f = ParseMsChapFailure(p.message);
        if (f.ok()) {
          absl::StrAppend(&r.message, " E=", f->error);
          if (f->error == kMsChapErrorAccountDisabled) {
            r.failure = AuthFailure::kDisabled;
            absl::StrAppend(&r.message, " (account disabled)");
          } else if (f->error == kMsChapErrorAuthenticationFailure) {
            absl::StrAppend(&r.message, " (authentication failure)");
          }
          if (!f->message.empty()) absl::StrAppend(&r.message, ": ", f->message);
        } else if (!p.message.empty()) {
          absl::StrAppend(&r.message, ": ", p.message);
        }
      } else if (!p.message.empty()) {
        absl::StrAppend(&r.message, ": ", p.message);
      }
      Finish(std::move(r));
      return absl::OkStatus();
    }
    switch (method_) {
      case AuthMethod::kChapMd5:
        r.success = true;
        break;
      case AuthMethod::kMsChapV1: {
        MsChapChallenge8 ch;
        std::copy_n(challenge_.begin(), 8, ch.begin());
        absl::StatusOr<MppeKeys> keys = MsChapV1MppeKeys(config_.password, ch);
        if (!keys.ok()) return FailInternal(std::move(r), keys.status());
        r.success = true;
        r.mppe = *keys;
        break;
      }
      case AuthMethod::kMsChapV2: {
        absl::StatusOr<MsChapV2Success> s = ParseMsChapV2Success(p.message);
        std::array<uint8_t, 16> auth_ch;
        std::copy_n(challenge_.begin(), 16, auth_ch.begin());
        absl::StatusOr<bool> good =
            s.ok()
                ? CheckAuthenticatorResponse(config_.password, v2_.nt_response, v2_.peer_challenge,
                                             auth_ch, config_.user, s->authenticator_response)
                : absl::StatusOr<bool>(false);
        if (!good.ok()) return FailInternal(std::move(r), good.status());
        if (!*good) {
          // RFC 2759 section 5: the authenticator does not know the password; drop the link.
          r.failure = AuthFailure::kBadAuthenticatorResponse;
          r.message = absl::StrCat("MS-CHAPv2: the authenticator's S= value is wrong",
                                   s.ok() ? "" : absl::StrCat(" (", s.status().message(), ")"));
          Finish(std::move(r));
          return absl::OkStatus();
        }
        absl::StatusOr<MppeKeys> keys =
            MsChapV2MppeKeys(config_.password, v2_.nt_response, /*is_server=*/false);
        if (!keys.ok()) return FailInternal(std::move(r), keys.status());
        r.success = true;
        r.mppe = *keys;
        if (!s->message.empty()) r.message = s->message;
        break;
      }
      case AuthMethod::kPap:
        return absl::InternalError("CHAP engine with method PAP");
    }
    std::string text = method_ == AuthMethod::kMsChapV2 ? r.message : p.message;
    r.message = absl::StrCat(MethodLabel(method_), ": authenticated as \"", config_.user, "\"");
    if (!text.empty()) absl::StrAppend(&r.message, ": ", text);
    Finish(std::move(r));
    return absl::OkStatus();
  }

  absl::Status FailInternal(AuthResult r, const absl::Status& s) {
    r.success = false;
    r.failure = AuthFailure::kBackendError;
    r.message = absl::StrCat(MethodLabel(method_), ": ", s.message());
    Finish(std::move(r));
    return s;
  }

  const AuthMethod method_;
  PeerConfig config_;
  bool started_ = false;
  bool responded_ = false;
  int response_transmissions_ = 0;
  uint8_t identifier_ = 0;
  std::vector<uint8_t> challenge_;
  std::vector<uint8_t> response_packet_;
  MsChapV2ResponseValue v2_;
  std::optional<absl::Time> deadline_;
};

}  // namespace

std::unique_ptr<Authenticator> NewChapAuthenticator(AuthMethod method, AuthenticatorConfig config) {
  return std::make_unique<ChapAuthenticator>(method, std::move(config));
}

std::unique_ptr<Peer> NewChapPeer(AuthMethod method, PeerConfig config) {
  return std::make_unique<ChapPeer>(method, std::move(config));
}

}  // namespace ppp
