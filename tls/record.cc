#include "tls/record.h"

#include <openssl/crypto.h>

#include <cstring>

namespace tls {

const char* AlertName(AlertDescription a) {
  switch (a) {
    case AlertDescription::kCloseNotify:
      return "close_notify";
    case AlertDescription::kUnexpectedMessage:
      return "unexpected_message";
    case AlertDescription::kBadRecordMac:
      return "bad_record_mac";
    case AlertDescription::kRecordOverflow:
      return "record_overflow";
    case AlertDescription::kHandshakeFailure:
      return "handshake_failure";
    case AlertDescription::kBadCertificate:
      return "bad_certificate";
    case AlertDescription::kCertificateRequired:
      return "certificate_required";
    case AlertDescription::kIllegalParameter:
      return "illegal_parameter";
    case AlertDescription::kDecodeError:
      return "decode_error";
    case AlertDescription::kDecryptError:
      return "decrypt_error";
    case AlertDescription::kProtocolVersion:
      return "protocol_version";
    case AlertDescription::kInternalError:
      return "internal_error";
    case AlertDescription::kUserCanceled:
      return "user_canceled";
    case AlertDescription::kNoRenegotiation:
      return "no_renegotiation";
    case AlertDescription::kUnsupportedCertificate:
      return "unsupported_certificate";
    case AlertDescription::kCertificateRevoked:
      return "certificate_revoked";
    case AlertDescription::kCertificateExpired:
      return "certificate_expired";
    case AlertDescription::kCertificateUnknown:
      return "certificate_unknown";
    case AlertDescription::kUnknownCa:
      return "unknown_ca";
    case AlertDescription::kAccessDenied:
      return "access_denied";
    case AlertDescription::kInsufficientSecurity:
      return "insufficient_security";
    case AlertDescription::kInappropriateFallback:
      return "inappropriate_fallback";
    case AlertDescription::kMissingExtension:
      return "missing_extension";
    case AlertDescription::kUnsupportedExtension:
      return "unsupported_extension";
    case AlertDescription::kUnrecognizedName:
      return "unrecognized_name";
    case AlertDescription::kBadCertificateStatusResponse:
      return "bad_certificate_status_response";
    case AlertDescription::kUnknownPskIdentity:
      return "unknown_psk_identity";
    case AlertDescription::kNoApplicationProtocol:
      return "no_application_protocol";
  }
  return "unknown_alert";
}

namespace {

// Consecutive records that carry nothing for the application (warning alerts, empty records,
// ignored handshake messages) accepted before the peer is treated as hostile; OpenSSL uses the
// same bound of 32 for empty records.
constexpr uint8_t kMaxControlRecords = 32;

// Largest single-buffer ChaCha20-Poly1305 operation sent through the job API.
constexpr size_t kChaChaJobApiMax = 8192;

void PutU16(uint8_t* p, size_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

// One AEAD operation over the pieces of a scatter list, in place. `key` is a gcm_key_data for
// AES-GCM or the 32 raw key bytes for ChaCha20-Poly1305.
void AeadRun(LcoreCrypto& lc, Cipher cipher, const void* key, bool encrypt, const uint8_t* nonce,
             const uint8_t* aad, size_t aad_len, const SegmentList& pieces, uint8_t* tag) {
  IMB_MGR* mb = lc.mb();
  if (cipher == Cipher::kChaCha20Poly1305 && pieces.size() == 1 &&
      pieces[0].size() <= kChaChaJobApiMax) {
    // ipsec-mb 1.3's job API runs one ChaCha20-Poly1305 buffer up to about 1.6x faster than the
    // direct init/update/finalize API below 8 KiB (measured by perf/tls/tls_bench); above that
    // the direct API is faster.
    IMB_JOB* job = IMB_GET_NEXT_JOB(mb);
    job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
    job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
    job->cipher_direction = encrypt ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
    job->chain_order = encrypt ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    job->enc_keys = key;
    job->dec_keys = key;
    job->key_len_in_bytes = 32;
    job->src = pieces[0].data();
    job->dst = pieces[0].data();
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = pieces[0].size();
    job->hash_start_src_offset_in_bytes = 0;
    job->msg_len_to_hash_in_bytes = pieces[0].size();
    job->iv = nonce;
    job->iv_len_in_bytes = 12;
    job->u.CHACHA20_POLY1305.aad = aad;
    job->u.CHACHA20_POLY1305.aad_len_in_bytes = aad_len;
    job->auth_tag_output = tag;
    job->auth_tag_output_len_in_bytes = kTagLength;
    IMB_JOB* done = IMB_SUBMIT_JOB(mb);
    if (done == nullptr) done = IMB_FLUSH_JOB(mb);
    if (done == nullptr || done->status != IMB_STATUS_COMPLETED) {
      // Cannot happen with valid parameters; a zero tag makes the record fail authentication
      // rather than pass silently.
      std::memset(tag, 0, kTagLength);
    }
    return;
  }
  if (cipher == Cipher::kChaCha20Poly1305) {
    chacha20_poly1305_context_data* ctx = lc.chacha_scratch();
    IMB_CHACHA20_POLY1305_INIT(mb, key, ctx, nonce, aad, aad_len);
    for (const auto& p : pieces) {
      if (p.empty()) continue;
      if (encrypt) {
        IMB_CHACHA20_POLY1305_ENC_UPDATE(mb, key, ctx, p.data(), p.data(), p.size());
      } else {
        IMB_CHACHA20_POLY1305_DEC_UPDATE(mb, key, ctx, p.data(), p.data(), p.size());
      }
    }
    IMB_CHACHA20_POLY1305_ENC_FINALIZE(mb, ctx, tag, kTagLength);
    return;
  }
  const gcm_key_data* k = static_cast<const gcm_key_data*>(key);
  gcm_context_data* ctx = lc.gcm_scratch();
  const bool aes128 = cipher == Cipher::kAes128Gcm;
  if (pieces.size() == 1) {
    // The common case (the whole record in one buffer): one call, no update bookkeeping.
    uint8_t* d = pieces[0].data();
    size_t n = pieces[0].size();
    if (aes128) {
      if (encrypt) {
        IMB_AES128_GCM_ENC(mb, k, ctx, d, d, n, nonce, aad, aad_len, tag, kTagLength);
      } else {
        IMB_AES128_GCM_DEC(mb, k, ctx, d, d, n, nonce, aad, aad_len, tag, kTagLength);
      }
    } else {
      if (encrypt) {
        IMB_AES256_GCM_ENC(mb, k, ctx, d, d, n, nonce, aad, aad_len, tag, kTagLength);
      } else {
        IMB_AES256_GCM_DEC(mb, k, ctx, d, d, n, nonce, aad, aad_len, tag, kTagLength);
      }
    }
    return;
  }
  if (aes128) {
    IMB_AES128_GCM_INIT(mb, k, ctx, nonce, aad, aad_len);
  } else {
    IMB_AES256_GCM_INIT(mb, k, ctx, nonce, aad, aad_len);
  }
  for (const auto& p : pieces) {
    if (p.empty()) continue;
    if (aes128) {
      if (encrypt) {
        IMB_AES128_GCM_ENC_UPDATE(mb, k, ctx, p.data(), p.data(), p.size());
      } else {
        IMB_AES128_GCM_DEC_UPDATE(mb, k, ctx, p.data(), p.data(), p.size());
      }
    } else {
      if (encrypt) {
        IMB_AES256_GCM_ENC_UPDATE(mb, k, ctx, p.data(), p.data(), p.size());
      } else {
        IMB_AES256_GCM_DEC_UPDATE(mb, k, ctx, p.data(), p.data(), p.size());
      }
    }
  }
  if (aes128) {
    if (encrypt) {
      IMB_AES128_GCM_ENC_FINALIZE(mb, k, ctx, tag, kTagLength);
    } else {
      IMB_AES128_GCM_DEC_FINALIZE(mb, k, ctx, tag, kTagLength);
    }
  } else {
    if (encrypt) {
      IMB_AES256_GCM_ENC_FINALIZE(mb, k, ctx, tag, kTagLength);
    } else {
      IMB_AES256_GCM_DEC_FINALIZE(mb, k, ctx, tag, kTagLength);
    }
  }
}

}  // namespace

RecordSession::~RecordSession() {
  OPENSSL_cleanse(&read_key_, sizeof(read_key_));
  OPENSSL_cleanse(&write_key_, sizeof(write_key_));
  OPENSSL_cleanse(read_iv_, sizeof(read_iv_));
  OPENSSL_cleanse(write_iv_, sizeof(write_iv_));
  OPENSSL_cleanse(read_secret_, sizeof(read_secret_));
  OPENSSL_cleanse(write_secret_, sizeof(write_secret_));
}

void RecordSession::ExpandKey(LcoreCrypto& lc, const uint8_t* key, DirectionKey& out) {
  switch (cipher_) {
    case Cipher::kAes128Gcm:
      IMB_AES128_GCM_PRE(lc.mb(), key, &out.gcm);
      break;
    case Cipher::kAes256Gcm:
      IMB_AES256_GCM_PRE(lc.mb(), key, &out.gcm);
      break;
    case Cipher::kChaCha20Poly1305:
      std::memcpy(out.chacha, key, 32);
      break;
  }
}

absl::Status RecordSession::Init(LcoreCrypto& lc, const SessionKeys& keys) {
  version_ = keys.version;
  cipher_ = keys.cipher;
  server_ = keys.server;
  ExpandKey(lc, keys.read.key, read_key_);
  ExpandKey(lc, keys.write.key, write_key_);
  std::memcpy(read_iv_, keys.read.iv, 12);
  std::memcpy(write_iv_, keys.write.iv, 12);
  std::memcpy(read_secret_, keys.read.secret, 48);
  std::memcpy(write_secret_, keys.write.secret, 48);
  read_seq_ = keys.read.seq;
  write_seq_ = keys.write.seq;
  flags_ = 0;
  pending_ = 0;
  warning_alerts_ = 0;
  hs_header_len_ = 0;
  hs_remaining_ = 0;
  if (version_ == Version::kTls13) {
    header_len_ = kRecordHeaderLength;
    trailer_len_ = 1 + kTagLength;
  } else if (cipher_ == Cipher::kChaCha20Poly1305) {
    header_len_ = kRecordHeaderLength;
    trailer_len_ = kTagLength;
  } else {
    header_len_ = kRecordHeaderLength + 8;
    trailer_len_ = kTagLength;
  }
  return absl::OkStatus();
}

void RecordSession::Nonce(const uint8_t* iv, uint64_t seq, uint8_t out[12]) const {
  // RFC 8446 5.3 / RFC 7905 2: the 64-bit sequence number, big-endian and left-padded to the IV
  // length, XORed with the IV.
  std::memcpy(out, iv, 12);
  for (int i = 11; i >= 4; --i) {
    out[i] ^= static_cast<uint8_t>(seq);
    seq >>= 8;
  }
}

absl::Status RecordSession::Seal(LcoreCrypto& lc, ContentType type, Segments record) {
  return SealInternal(lc, type, record, /*control=*/false);
}

absl::Status RecordSession::SealInternal(LcoreCrypto& lc, ContentType type, Segments record,
                                         bool control) {
  if (!control && (flags_ & (kWriteClosed | kDead))) {
    return absl::FailedPreconditionError("TLS connection is closed for sending");
  }
  size_t total = TotalLength(record);
  if (total < overhead()) {
    return absl::InvalidArgumentError("record buffer shorter than the TLS header and trailer");
  }
  size_t payload = total - overhead();
  if (payload > kMaxPlaintext) {
    return absl::InvalidArgumentError("TLS record payload larger than 16384 bytes");
  }
  if (write_seq_ == ~uint64_t{0}) {
    // RFC 5246 6.1: sequence numbers must not wrap.
    flags_ |= kWriteClosed;
    return absl::FailedPreconditionError("TLS write sequence number exhausted");
  }
  uint8_t header[kRecordHeaderLength + 8];
  uint8_t nonce[12];
  uint8_t aad[13];
  size_t aad_len;
  size_t enc_len = payload;
  if (version_ == Version::kTls13) {
    // RFC 8446 5.2: outer type application_data, legacy version 0x0303, inner type after the
    // content; no padding is added.
    enc_len = payload + 1;
    header[0] = static_cast<uint8_t>(ContentType::kApplicationData);
    header[1] = 3;
    header[2] = 3;
    PutU16(header + 3, enc_len + kTagLength);
    uint8_t inner = static_cast<uint8_t>(type);
    if (!CopyIn(record, header_len_ + payload, absl::Span<const uint8_t>(&inner, 1))) {
      return absl::InternalError("scatter list shorter than measured");
    }
    std::memcpy(aad, header, kRecordHeaderLength);
    aad_len = kRecordHeaderLength;
    Nonce(write_iv_, write_seq_, nonce);
  } else {
    header[0] = static_cast<uint8_t>(type);
    header[1] = 3;
    header[2] = 3;
    // RFC 5246 6.2.3.3: additional_data = seq_num + type + version + length (of the plaintext).
    PutU64(aad, write_seq_);
    aad[8] = static_cast<uint8_t>(type);
    aad[9] = 3;
    aad[10] = 3;
    PutU16(aad + 11, payload);
    aad_len = 13;
    if (cipher_ == Cipher::kChaCha20Poly1305) {
      PutU16(header + 3, payload + kTagLength);
      Nonce(write_iv_, write_seq_, nonce);
    } else {
      // RFC 5288 3: nonce = salt(4) | explicit(8); the explicit part is the sequence number,
      // which is unique per key as the RFC requires.
      PutU16(header + 3, 8 + payload + kTagLength);
      PutU64(header + kRecordHeaderLength, write_seq_);
      std::memcpy(nonce, write_iv_, 4);
      PutU64(nonce + 4, write_seq_);
    }
  }
  CopyIn(record, 0, absl::Span<const uint8_t>(header, header_len_));
  SegmentList pieces;
  Slice(record, header_len_, enc_len, pieces);
  uint8_t tag[kTagLength];
  AeadRun(lc, cipher_, &write_key_, /*encrypt=*/true, nonce, aad, aad_len, pieces, tag);
  CopyIn(record, header_len_ + enc_len, absl::Span<const uint8_t>(tag, kTagLength));
  ++write_seq_;
  if (version_ == Version::kTls13 && write_seq_ >= kKeyUpdateAfterRecords &&
      (pending_ & (kPendingKeyUpdate | kPendingKeyUpdateRequest)) == 0) {
    pending_ |= kPendingKeyUpdate;
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> RecordSession::SealCopy(LcoreCrypto& lc, ContentType type,
                                               absl::Span<const uint8_t> payload,
                                               absl::Span<uint8_t> out) {
  size_t len = overhead() + payload.size();
  if (out.size() < len) return absl::InvalidArgumentError("output buffer too small for record");
  if (!payload.empty()) std::memcpy(out.data() + header_len_, payload.data(), payload.size());
  absl::Span<uint8_t> seg = out.first(len);
  absl::Status s = Seal(lc, type, Segments(&seg, 1));
  if (!s.ok()) return s;
  return len;
}

OpenResult RecordSession::Fail(OpenResult r, AlertDescription a) {
  flags_ |= kDead | kReadClosed | kWriteClosed;
  pending_ &= ~(kPendingCloseNotify | kPendingKeyUpdate | kPendingKeyUpdateRequest);
  pending_ |= kPendingFatalAlert;
  pending_alert_ = a;
  r.status = OpenStatus::kError;
  r.alert = a;
  r.data_len = 0;
  return r;
}

OpenResult RecordSession::Open(LcoreCrypto& lc, Segments stream) {
  OpenResult r;
  if (flags_ & kDead) {
    r.status = OpenStatus::kError;
    r.alert = pending_alert_;
    return r;
  }
  if (flags_ & kReadClosed) {
    r.status = OpenStatus::kCloseNotify;
    return r;
  }
  size_t avail = TotalLength(stream);
  if (avail < kRecordHeaderLength) return r;
  uint8_t hdr[kRecordHeaderLength];
  CopyOut(stream, 0, absl::Span<uint8_t>(hdr, kRecordHeaderLength));
  const uint8_t outer_type = hdr[0];
  const size_t len = (size_t{hdr[3]} << 8) | hdr[4];
  r.record_len = kRecordHeaderLength + len;

  // Header checks come first, so a bad or oversized record is refused without waiting for it.
  if (version_ == Version::kTls13) {
    // RFC 8446 5: after the handshake every record is protected and has outer type
    // application_data; a change_cipher_spec or plaintext alert now is unexpected_message.
    if (outer_type != static_cast<uint8_t>(ContentType::kApplicationData)) {
      return Fail(r, AlertDescription::kUnexpectedMessage);
    }
    if (len > kMaxCiphertext13) return Fail(r, AlertDescription::kRecordOverflow);
    if (len < 1 + kTagLength) return Fail(r, AlertDescription::kBadRecordMac);
  } else {
    if (outer_type != static_cast<uint8_t>(ContentType::kApplicationData) &&
        outer_type != static_cast<uint8_t>(ContentType::kAlert) &&
        outer_type != static_cast<uint8_t>(ContentType::kHandshake)) {
      // change_cipher_spec after the handshake, or not a TLS content type at all.
      return Fail(r, AlertDescription::kUnexpectedMessage);
    }
    if (hdr[1] != 3 || hdr[2] != 3) return Fail(r, AlertDescription::kProtocolVersion);
    if (len > kMaxCiphertext12) return Fail(r, AlertDescription::kRecordOverflow);
    size_t min = kTagLength + (cipher_ == Cipher::kChaCha20Poly1305 ? 0 : 8);
    if (len < min) return Fail(r, AlertDescription::kBadRecordMac);
  }
  if (avail < r.record_len) return r;  // kNeedMore with the full length known

  uint8_t nonce[12];
  uint8_t aad[13];
  size_t aad_len;
  size_t enc_off;
  size_t enc_len;
  if (version_ == Version::kTls13) {
    enc_off = kRecordHeaderLength;
    enc_len = len - kTagLength;
    std::memcpy(aad, hdr, kRecordHeaderLength);
    aad_len = kRecordHeaderLength;
    Nonce(read_iv_, read_seq_, nonce);
  } else {
    if (cipher_ == Cipher::kChaCha20Poly1305) {
      enc_off = kRecordHeaderLength;
      enc_len = len - kTagLength;
      Nonce(read_iv_, read_seq_, nonce);
    } else {
      enc_off = kRecordHeaderLength + 8;
      enc_len = len - 8 - kTagLength;
      std::memcpy(nonce, read_iv_, 4);
      CopyOut(stream, kRecordHeaderLength, absl::Span<uint8_t>(nonce + 4, 8));
    }
    if (enc_len > kMaxPlaintext) return Fail(r, AlertDescription::kRecordOverflow);
    PutU64(aad, read_seq_);
    aad[8] = outer_type;
    aad[9] = 3;
    aad[10] = 3;
    PutU16(aad + 11, enc_len);
    aad_len = 13;
  }
  uint8_t received_tag[kTagLength];
  CopyOut(stream, enc_off + enc_len, absl::Span<uint8_t>(received_tag, kTagLength));
  SegmentList pieces;
  Slice(stream, enc_off, enc_len, pieces);
  uint8_t tag[kTagLength];
  AeadRun(lc, cipher_, &read_key_, /*encrypt=*/false, nonce, aad, aad_len, pieces, tag);
  if (CRYPTO_memcmp(tag, received_tag, kTagLength) != 0) {
    return Fail(r, AlertDescription::kBadRecordMac);
  }
  ++read_seq_;

  uint8_t type = outer_type;
  size_t content_len = enc_len;
  if (version_ == Version::kTls13) {
    // RFC 8446 5.4: strip the zero padding; the last non-zero byte is the real content type.
    size_t i = enc_len;
    type = 0;
    for (auto it = pieces.rbegin(); it != pieces.rend() && type == 0; ++it) {
      const auto& p = *it;
      for (size_t j = p.size(); j > 0; --j) {
        --i;
        if (p[j - 1] != 0) {
          type = p[j - 1];
          break;
        }
      }
    }
    if (type == 0) return Fail(r, AlertDescription::kUnexpectedMessage);
    content_len = i;
    if (content_len > kMaxPlaintext) return Fail(r, AlertDescription::kRecordOverflow);
  }

  switch (static_cast<ContentType>(type)) {
    case ContentType::kApplicationData:
      // RFC 8446 5.1: handshake messages must not be interleaved with other record types.
      if (hs_header_len_ != 0 || hs_remaining_ != 0) {
        return Fail(r, AlertDescription::kUnexpectedMessage);
      }
      if (content_len == 0) {
        if (++warning_alerts_ > kMaxControlRecords) {
          return Fail(r, AlertDescription::kUnexpectedMessage);
        }
      } else {
        warning_alerts_ = 0;
      }
      r.status = OpenStatus::kData;
      r.data_offset = enc_off;
      r.data_len = content_len;
      return r;
    case ContentType::kAlert:
      return HandleAlert(stream, enc_off, content_len, r);
    case ContentType::kHandshake:
      return HandleHandshake(lc, stream, enc_off, content_len, r);
    default:
      // An encrypted change_cipher_spec or an unknown inner type (RFC 8446 5).
      return Fail(r, AlertDescription::kUnexpectedMessage);
  }
}

OpenResult RecordSession::HandleAlert(Segments stream, size_t off, size_t len, OpenResult r) {
  // RFC 8446 6 / RFC 5246 7.2: an alert record carries exactly one two-byte alert.
  if (len != 2 || hs_header_len_ != 0 || hs_remaining_ != 0) {
    return Fail(r,
                len != 2 ? AlertDescription::kDecodeError : AlertDescription::kUnexpectedMessage);
  }
  uint8_t a[2];
  CopyOut(stream, off, absl::Span<uint8_t>(a, 2));
  const uint8_t level = a[0];
  const auto desc = static_cast<AlertDescription>(a[1]);
  r.alert = desc;
  if (desc == AlertDescription::kCloseNotify) {
    // RFC 8446 6.1: answer with our own close_notify; ignore anything after it.
    flags_ |= kReadClosed;
    if (!(flags_ & kWriteClosed)) {
      pending_ |= kPendingCloseNotify;
      flags_ |= kWriteClosed;
    }
    r.status = OpenStatus::kCloseNotify;
    return r;
  }
  bool warning;
  if (version_ == Version::kTls13) {
    // RFC 8446 6: everything except close_notify and user_canceled is fatal, whatever the level.
    warning = desc == AlertDescription::kUserCanceled;
  } else {
    if (level != 1 && level != 2) return Fail(r, AlertDescription::kIllegalParameter);
    warning = level == 1;
  }
  if (warning) {
    if (++warning_alerts_ > kMaxControlRecords) {
      return Fail(r, AlertDescription::kUnexpectedMessage);
    }
    r.status = OpenStatus::kControl;
    return r;
  }
  flags_ |= kDead | kReadClosed | kWriteClosed;
  pending_ = 0;
  pending_alert_ = desc;
  r.status = OpenStatus::kPeerAlert;
  return r;
}

OpenResult RecordSession::HandleHandshake(LcoreCrypto& lc, Segments stream, size_t off, size_t len,
                                          OpenResult r) {
  if (len == 0) return Fail(r, AlertDescription::kUnexpectedMessage);  // RFC 8446 5.1
  if (++warning_alerts_ > kMaxControlRecords) {
    return Fail(r, AlertDescription::kUnexpectedMessage);
  }
  r.status = OpenStatus::kControl;
  if (version_ == Version::kTls12) {
    // Renegotiation is disabled. A server's HelloRequest may be ignored (RFC 5246 7.4.1.1);
    // anything else (a renegotiating ClientHello) is refused.
    uint8_t m[4];
    if (len == 4 && !server_) {
      CopyOut(stream, off, absl::Span<uint8_t>(m, 4));
      if (m[0] == 0 && m[1] == 0 && m[2] == 0 && m[3] == 0) return r;
    }
    return Fail(r, AlertDescription::kUnexpectedMessage);
  }
  // TLS 1.3 post-handshake messages (RFC 8446 4.6). They may be coalesced in one record or span
  // records, so walk them with the small header buffer.
  size_t pos = 0;
  while (pos < len) {
    if (hs_remaining_ > 0) {
      size_t take = len - pos < hs_remaining_ ? len - pos : hs_remaining_;
      pos += take;
      hs_remaining_ -= static_cast<uint32_t>(take);
      continue;
    }
    hs_header_[hs_header_len_++] = ByteAt(stream, off + pos);
    ++pos;
    if (hs_header_len_ < 4) continue;
    hs_header_len_ = 0;
    hs_type_ = hs_header_[0];
    const uint32_t body =
        (uint32_t{hs_header_[1]} << 16) | (uint32_t{hs_header_[2]} << 8) | hs_header_[3];
    if (hs_type_ == 4 && !server_) {
      // NewSessionTicket: this client does not resume sessions, so the ticket is skipped.
      hs_remaining_ = body;
      continue;
    }
    if (hs_type_ == 24) {
      // KeyUpdate (RFC 8446 4.6.3): one byte, and it must end the record (RFC 8446 5.1).
      if (body != 1) return Fail(r, AlertDescription::kDecodeError);
      if (pos + 1 != len) return Fail(r, AlertDescription::kUnexpectedMessage);
      const uint8_t request = ByteAt(stream, off + pos);
      ++pos;
      if (request > 1) return Fail(r, AlertDescription::kIllegalParameter);
      TrafficKeys k;
      std::memcpy(k.secret, read_secret_, sizeof(read_secret_));
      if (!UpdateTls13TrafficKeys(lc, cipher_, k).ok()) {
        return Fail(r, AlertDescription::kInternalError);
      }
      ExpandKey(lc, k.key, read_key_);
      std::memcpy(read_iv_, k.iv, 12);
      std::memcpy(read_secret_, k.secret, sizeof(read_secret_));
      read_seq_ = 0;
      Wipe(k);
      if (request == 1 && !(flags_ & kWriteClosed)) pending_ |= kPendingKeyUpdate;
      continue;
    }
    // Post-handshake authentication was never offered, and nothing else may arrive now.
    return Fail(r, AlertDescription::kUnexpectedMessage);
  }
  return r;
}

absl::Status RecordSession::UpdateWriteKey(LcoreCrypto& lc) {
  TrafficKeys k;
  std::memcpy(k.secret, write_secret_, sizeof(write_secret_));
  absl::Status s = UpdateTls13TrafficKeys(lc, cipher_, k);
  if (!s.ok()) return s;
  ExpandKey(lc, k.key, write_key_);
  std::memcpy(write_iv_, k.iv, 12);
  std::memcpy(write_secret_, k.secret, sizeof(write_secret_));
  write_seq_ = 0;
  Wipe(k);
  return absl::OkStatus();
}

absl::StatusOr<size_t> RecordSession::SealPendingOutput(LcoreCrypto& lc, absl::Span<uint8_t> out) {
  size_t used = 0;
  auto seal = [&](ContentType type, const uint8_t* payload, size_t n) -> absl::Status {
    size_t rec = overhead() + n;
    if (out.size() - used < rec) {
      return absl::InvalidArgumentError("pending-output buffer too small");
    }
    absl::Span<uint8_t> seg = out.subspan(used, rec);
    std::memcpy(seg.data() + header_len_, payload, n);
    absl::Status s = SealInternal(lc, type, Segments(&seg, 1), /*control=*/true);
    if (s.ok()) used += rec;
    return s;
  };
  if (pending_ & (kPendingKeyUpdate | kPendingKeyUpdateRequest)) {
    const uint8_t ku[5] = {24, 0, 0, 1,
                           static_cast<uint8_t>((pending_ & kPendingKeyUpdateRequest) ? 1 : 0)};
    absl::Status s = seal(ContentType::kHandshake, ku, sizeof(ku));
    if (!s.ok()) return s;
    pending_ &= ~(kPendingKeyUpdate | kPendingKeyUpdateRequest);
    s = UpdateWriteKey(lc);
    if (!s.ok()) return s;
  }
  if (pending_ & (kPendingCloseNotify | kPendingFatalAlert)) {
    const bool fatal = (pending_ & kPendingFatalAlert) != 0;
    const uint8_t alert[2] = {
        static_cast<uint8_t>(fatal ? 2 : 1),
        static_cast<uint8_t>(fatal ? pending_alert_ : AlertDescription::kCloseNotify)};
    absl::Status s = seal(ContentType::kAlert, alert, sizeof(alert));
    if (!s.ok()) return s;
    pending_ &= ~(kPendingCloseNotify | kPendingFatalAlert);
    flags_ |= kWriteClosed;
  }
  return used;
}

absl::Status RecordSession::RequestKeyUpdate(bool request_peer) {
  if (version_ != Version::kTls13) {
    return absl::FailedPreconditionError("KeyUpdate exists only in TLS 1.3");
  }
  if (flags_ & (kWriteClosed | kDead)) {
    return absl::FailedPreconditionError("TLS connection is closed for sending");
  }
  pending_ |= request_peer ? kPendingKeyUpdateRequest : kPendingKeyUpdate;
  return absl::OkStatus();
}

void RecordSession::Close() {
  if (flags_ & (kWriteClosed | kDead)) return;
  pending_ |= kPendingCloseNotify;
  flags_ |= kWriteClosed;
}

}  // namespace tls
