#include "tls/connection.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace tls {

absl::StatusOr<std::unique_ptr<Connection>> Connection::Create(TlsContext& ctx, absl::Time now) {
  std::unique_ptr<Connection> c(new Connection(ctx));
  auto h = Handshake::Create(ctx, now);
  if (!h.ok()) return h.status();
  c->handshake_ = *std::move(h);
  std::vector<uint8_t> hello = c->handshake_->TakeOutput();
  c->output_.insert(c->output_.end(), hello.begin(), hello.end());
  return c;
}

void Connection::Fail(absl::Status s) {
  state_ = State::kFailed;
  if (error_.ok()) error_ = std::move(s);
}

void Connection::Feed(absl::Span<const uint8_t> in) {
  switch (state_) {
    case State::kHandshake: {
      HandshakeState hs = handshake_->Feed(in);
      std::vector<uint8_t> out = handshake_->TakeOutput();
      output_.insert(output_.end(), out.begin(), out.end());
      if (hs == HandshakeState::kFailed) {
        Fail(handshake_->error());
      } else if (hs == HandshakeState::kEstablished) {
        AfterHandshake();
      }
      return;
    }
    case State::kOpen:
      if (records_ == nullptr) {
        handshake_->Feed(in);
      } else {
        input_.insert(input_.end(), in.begin(), in.end());
      }
      OpenRecords();
      return;
    case State::kClosed:
      // After our close_notify we still read until the peer's (RFC 8446 6.1).
      if (!peer_closed_ && records_ != nullptr) {
        input_.insert(input_.end(), in.begin(), in.end());
        OpenRecords();
      }
      return;
    case State::kFailed:
      return;
  }
}

void Connection::AfterHandshake() {
  state_ = State::kOpen;
  version_ = handshake_->version();
  if (!handshake_->CanHandOver()) {
    // Legacy suite: OpenSSL keeps the record layer.
    info_.cipher_name = handshake_->cipher_name();
    SSL* ssl = handshake_->ssl();
    if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
      info_.server_name = sni;
    }
    if (X509* peer = SSL_get0_peer_certificate(ssl)) {
      info_.peer_certificate = HashCertificate(ctx_->lcore(), peer);
      char buf[512];
      X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof(buf));
      info_.peer_subject = buf;
    }
    OpenRecords();
    return;
  }
  auto ho = handshake_->TakeHandover();
  if (!ho.ok()) {
    Fail(ho.status());
    return;
  }
  info_ = *std::move(ho);
  records_ = std::make_unique<RecordSession>();
  absl::Status s = records_->Init(ctx_->lcore(), info_.keys);
  Wipe(info_.keys);
  if (!s.ok()) {
    Fail(s);
    return;
  }
  handshake_.reset();
  output_.insert(output_.end(), info_.pending_output.begin(), info_.pending_output.end());
  input_ = std::move(info_.pending_input);
  info_.pending_output.clear();
  info_.pending_input.clear();
  OpenRecords();
}

void Connection::DrainPending() {
  if (records_ == nullptr || !records_->HasPendingOutput()) return;
  size_t old = output_.size();
  output_.resize(old + RecordSession::kMaxPendingOutput);
  auto n = records_->SealPendingOutput(ctx_->lcore(), absl::MakeSpan(output_).subspan(old));
  output_.resize(old + (n.ok() ? *n : 0));
}

void Connection::OpenRecords() {
  if (records_ == nullptr) {
    // Legacy: OpenSSL's record layer.
    uint8_t buf[16384];
    for (;;) {
      auto n = handshake_->ReadApplicationData(absl::MakeSpan(buf));
      if (!n.ok()) {
        if (absl::IsOutOfRange(n.status())) {
          peer_closed_ = true;
          state_ = State::kClosed;
        } else {
          Fail(n.status());
        }
        break;
      }
      if (*n == 0) break;
      plaintext_.insert(plaintext_.end(), buf, buf + *n);
    }
    std::vector<uint8_t> out = handshake_->TakeOutput();
    output_.insert(output_.end(), out.begin(), out.end());
    return;
  }
  size_t off = 0;
  while (off < input_.size()) {
    absl::Span<uint8_t> rest = absl::MakeSpan(input_).subspan(off);
    OpenResult r = records_->Open(ctx_->lcore(), Segments(&rest, 1));
    if (r.status == OpenStatus::kNeedMore) break;
    if (r.status == OpenStatus::kData) {
      plaintext_.insert(plaintext_.end(), rest.begin() + r.data_offset,
                        rest.begin() + r.data_offset + r.data_len);
    } else if (r.status == OpenStatus::kCloseNotify) {
      peer_closed_ = true;
      state_ = State::kClosed;
    } else if (r.status == OpenStatus::kPeerAlert) {
      Fail(absl::AbortedError(absl::StrCat("peer sent fatal alert ", AlertName(r.alert))));
    } else if (r.status == OpenStatus::kError) {
      Fail(absl::DataLossError(
          absl::StrCat("bad TLS record from peer; sent alert ", AlertName(r.alert))));
    }
    DrainPending();
    if (r.status != OpenStatus::kData && r.status != OpenStatus::kControl) {
      off = input_.size();  // nothing after close_notify or an error is read
      break;
    }
    off += r.record_len;
  }
  input_.erase(input_.begin(), input_.begin() + off);
}

absl::Status Connection::Write(absl::Span<const uint8_t> data) {
  if (state_ != State::kOpen) {
    return absl::FailedPreconditionError("TLS connection is not open for writing");
  }
  if (records_ == nullptr) {
    absl::Status s = handshake_->WriteApplicationData(data);
    std::vector<uint8_t> out = handshake_->TakeOutput();
    output_.insert(output_.end(), out.begin(), out.end());
    return s;
  }
  while (!data.empty()) {
    size_t n = data.size() < kMaxPlaintext ? data.size() : kMaxPlaintext;
    size_t old = output_.size();
    output_.resize(old + records_->overhead() + n);
    std::memcpy(output_.data() + old + records_->header_len(), data.data(), n);
    absl::Span<uint8_t> rec = absl::MakeSpan(output_).subspan(old);
    absl::Status s =
        records_->Seal(ctx_->lcore(), ContentType::kApplicationData, Segments(&rec, 1));
    if (!s.ok()) {
      output_.resize(old);
      return s;
    }
    DrainPending();  // a KeyUpdate forced by the record count
    data.remove_prefix(n);
  }
  return absl::OkStatus();
}

void Connection::Close() {
  if (state_ != State::kOpen) return;
  state_ = State::kClosed;
  if (records_ != nullptr) {
    records_->Close();
    DrainPending();
  } else if (handshake_ != nullptr && handshake_->ssl() != nullptr) {
    SSL_shutdown(handshake_->ssl());
    std::vector<uint8_t> out = handshake_->TakeOutput();
    output_.insert(output_.end(), out.begin(), out.end());
  }
}

std::vector<uint8_t> Connection::TakeOutput() {
  std::vector<uint8_t> out;
  out.swap(output_);
  return out;
}

absl::Time Connection::deadline() const {
  return state_ == State::kHandshake ? handshake_->deadline() : absl::InfiniteFuture();
}

void Connection::OnTimer(absl::Time now) {
  if (state_ != State::kHandshake) return;
  handshake_->OnTimer(now);
  if (handshake_->state() == HandshakeState::kFailed) Fail(handshake_->error());
}

}  // namespace tls
