// Small helpers shared by the authentication sources (not part of the API).
#ifndef PPP_AUTH_INTERNAL_H_
#define PPP_AUTH_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ppp/auth.h"

namespace ppp::auth_internal {

// Debian's Abseil has its own string_view type; StrCat and friends need it.
inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

inline absl::Span<const uint8_t> Bytes(std::string_view s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Fills in the 4-byte header of a PAP or CHAP packet whose data follows it in `out` (RFC 1334
// section 2.2, RFC 1994 section 4): Code, Identifier, Length = out.size().
inline void PutAuthHeader(std::vector<uint8_t>& out, uint8_t code, uint8_t identifier) {
  size_t len = out.size();
  out[0] = code;
  out[1] = identifier;
  out[2] = static_cast<uint8_t>(len >> 8);
  out[3] = static_cast<uint8_t>(len);
}

// What the PAP and CHAP authenticators share once the peer has named a user (RFC 1334 section
// 2.1, RFC 1994 section 4): the credential lookup, an asynchronous (Pending) lookup finished by
// SupplyCredential() or CompleteVerification(), the mapping of the credential to the verdict, the
// verdict's log message, the timeout result, and the final state. The subclass holds the peer's
// request, checks it against a password and encodes the answer (Ack/Nak, Success/Failure).
class AuthenticatorBase : public Authenticator {
 public:
  AuthMethod method() const override { return method_; }
  std::optional<absl::Time> NextDeadline() const override { return deadline_; }

  std::optional<std::string> PendingLookup() const override {
    if (state_ != State::kPending) return std::nullopt;
    return RequestUser();
  }

  absl::Status SupplyCredential(std::string_view user, Credential credential,
                                absl::Time now) override {
    if (state_ != State::kPending) {
      return absl::FailedPreconditionError(
          absl::StrCat("no ", protocol_, " credential lookup is outstanding"));
    }
    if (user != RequestUser()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "credential for \"", Av(user), "\" but the lookup is for \"", RequestUser(), "\""));
    }
    if (credential.status == Credential::Status::kPending) {
      return absl::InvalidArgumentError("SupplyCredential needs a final answer, not Pending()");
    }
    Verify(credential);
    return absl::OkStatus();
  }

  absl::Status CompleteVerification(ExternalVerdict verdict, absl::Time now) override {
    if (state_ != State::kPending) {
      return absl::FailedPreconditionError(
          absl::StrCat("no ", protocol_, " verification is outstanding"));
    }
    AuthResult r = BaseResult();
    if (absl::Status s = TakeVerdict(verdict, r); !s.ok()) return s;
    r.success = verdict.success;
    r.failure = verdict.success ? AuthFailure::kNone : verdict.failure;
    Conclude(std::move(r), verdict.reason);
    return absl::OkStatus();
  }

 protected:
  // kWaiting: PAP waits for the Authenticate-Request, CHAP has sent its Challenge.
  enum class State { kInitial, kWaiting, kPending, kDone };

  // `protocol` names the protocol in errors ("PAP", "CHAP"); `label` starts the result messages
  // ("PAP", "CHAP-MD5", "MS-CHAPv2").
  AuthenticatorBase(AuthMethod method, const char* protocol, const char* label,
                    AuthenticatorConfig config)
      : config_(std::move(config)), method_(method), protocol_(protocol), label_(label) {}

  // The user the held request names (PAP Peer-ID, CHAP Name).
  virtual const std::string& RequestUser() const = 0;
  // Checks the held request against the user's password: sets r.success (and keys). A non-OK
  // status is a failure of the check itself (reported as a backend error with its message).
  virtual absl::Status CheckPassword(std::string_view password, AuthResult& r) = 0;
  // An external verdict's method-specific parts (MS-CHAPv2: the authenticator response, keys);
  // an error refuses the verdict and leaves the lookup outstanding.
  virtual absl::Status TakeVerdict(const ExternalVerdict& verdict, AuthResult& r) {
    return absl::OkStatus();
  }
  // Sends the answer for the concluded result (Ack/Nak, Success/Failure).
  virtual void SendVerdict(const AuthResult& r) = 0;

  // The peer's request is held: looks its user up and answers, or waits for the backend.
  void LookUp() {
    Credential c = config_.lookup(RequestUser());
    if (c.status == Credential::Status::kPending) {
      state_ = State::kPending;
      deadline_.reset();
      return;
    }
    Verify(c);
  }

  // No request (PAP) or no Response to the Challenges (CHAP) in time.
  void TimeOut(std::string message) {
    deadline_.reset();
    state_ = State::kDone;
    AuthResult r = BaseResult();
    r.failure = AuthFailure::kTimeout;
    r.message = std::move(message);
    Finish(std::move(r));
  }

  AuthenticatorConfig config_;
  const AuthMethod method_;
  State state_ = State::kInitial;
  std::optional<absl::Time> deadline_;

 private:
  AuthResult BaseResult() const {
    AuthResult r;
    r.method = method_;
    r.role = AuthRole::kAuthenticator;
    r.user = RequestUser();
    return r;
  }

  void Verify(const Credential& c) {
    AuthResult r = BaseResult();
    std::string detail;
    switch (c.status) {
      case Credential::Status::kFound:
        if (absl::Status s = CheckPassword(c.password, r); !s.ok()) {
          r.success = false;
          r.mppe.reset();
          r.failure = AuthFailure::kBackendError;
          detail = std::string(s.message());
        } else if (!r.success) {
          r.failure = AuthFailure::kWrongPassword;
        }
        break;
      case Credential::Status::kNotFound:
      case Credential::Status::kPending:
        r.failure = AuthFailure::kNoSuchUser;
        break;
      case Credential::Status::kDisabled:
        r.failure = AuthFailure::kDisabled;
        break;
      case Credential::Status::kError:
        r.failure = AuthFailure::kBackendError;
        detail = c.error;
        break;
    }
    Conclude(std::move(r), detail);
  }

  // Sends the answer for `r` and finishes.
  void Conclude(AuthResult r, std::string_view detail) {
    if (r.success) {
      r.message = absl::StrCat(label_, ": user \"", r.user, "\" authenticated");
    } else {
      r.message = absl::StrCat(label_, ": user \"", r.user, "\": ", Av(AuthFailureName(r.failure)));
    }
    if (!detail.empty()) absl::StrAppend(&r.message, " (", Av(detail), ")");
    SendVerdict(r);
    state_ = State::kDone;
    deadline_.reset();
    Finish(std::move(r));
  }

  const char* const protocol_;
  const char* const label_;
};

}  // namespace ppp::auth_internal

#endif  // PPP_AUTH_INTERNAL_H_
