#include "ring/messages.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ring {
namespace {

constexpr size_t kMaxString = 1024;

class Writer {
 public:
  static constexpr bool kReading = false;
  explicit Writer(std::vector<uint8_t>* out) : out_(out) {}
  template <typename T>
  bool Int(T& v) {
    for (size_t i = 0; i < sizeof(T); ++i) out_->push_back(uint8_t(uint64_t(v) >> (8 * i)));
    return true;
  }
  template <typename E>
  bool Enum(E& e, uint64_t) {
    auto v = static_cast<std::underlying_type_t<E>>(e);
    return Int(v);
  }
  template <size_t N>
  bool Fixed(std::array<uint8_t, N>& a) {
    out_->insert(out_->end(), a.begin(), a.end());
    return true;
  }
  bool Str(std::string& s, size_t max = kMaxString) {
    uint16_t n = uint16_t(std::min(s.size(), max));
    Int(n);
    out_->insert(out_->end(), s.begin(), s.begin() + n);
    return true;
  }
  bool Bytes(std::vector<uint8_t>& b, size_t max) {
    uint16_t n = uint16_t(std::min(b.size(), max));
    Int(n);
    out_->insert(out_->end(), b.begin(), b.begin() + n);
    return true;
  }
  bool Addr(IpAddr& a) {
    Int(a.family);
    if (a.family == 4) out_->insert(out_->end(), a.bytes.begin(), a.bytes.begin() + 4);
    if (a.family == 6) out_->insert(out_->end(), a.bytes.begin(), a.bytes.end());
    return true;
  }
  template <typename T, typename F>
  bool List(std::vector<T>& v, size_t max, F each) {
    uint16_t n = uint16_t(std::min(v.size(), max));
    Int(n);
    for (size_t i = 0; i < n; ++i) each(v[i]);
    return true;
  }

 private:
  std::vector<uint8_t>* out_;
};

class Reader {
 public:
  static constexpr bool kReading = true;
  explicit Reader(absl::Span<const uint8_t> in) : in_(in) {}
  template <typename T>
  bool Int(T& v) {
    if (!Need(sizeof(T), "integer")) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < sizeof(T); ++i) x |= uint64_t(in_[pos_ + i]) << (8 * i);
    pos_ += sizeof(T);
    v = T(x);
    return true;
  }
  template <typename E>
  bool Enum(E& e, uint64_t max) {
    std::underlying_type_t<E> v;
    if (!Int(v)) return false;
    if (uint64_t(v) > max) return Fail(absl::StrCat("enum value ", uint64_t(v), " out of range"));
    e = static_cast<E>(v);
    return true;
  }
  template <size_t N>
  bool Fixed(std::array<uint8_t, N>& a) {
    if (!Need(N, "fixed field")) return false;
    std::memcpy(a.data(), in_.data() + pos_, N);
    pos_ += N;
    return true;
  }
  bool Str(std::string& s, size_t max = kMaxString) {
    uint16_t n;
    if (!Int(n)) return false;
    if (n > max) return Fail(absl::StrCat("string of ", n, " bytes exceeds ", max));
    if (!Need(n, "string")) return false;
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool Bytes(std::vector<uint8_t>& b, size_t max) {
    uint16_t n;
    if (!Int(n)) return false;
    if (n > max) return Fail(absl::StrCat("byte string of ", n, " bytes exceeds ", max));
    if (!Need(n, "byte string")) return false;
    b.assign(in_.begin() + pos_, in_.begin() + pos_ + n);
    pos_ += n;
    return true;
  }
  bool Addr(IpAddr& a) {
    if (!Int(a.family)) return false;
    a.bytes = {};
    size_t n = a.family == 0 ? 0 : a.family == 4 ? 4 : a.family == 6 ? 16 : 99;
    if (n == 99) return Fail(absl::StrCat("address family ", int(a.family), " unknown"));
    if (!Need(n, "address")) return false;
    std::memcpy(a.bytes.data(), in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T, typename F>
  bool List(std::vector<T>& v, size_t max, F each) {
    uint16_t n;
    if (!Int(n)) return false;
    if (n > max) return Fail(absl::StrCat("list of ", n, " entries exceeds ", max));
    v.assign(n, T{});
    for (size_t i = 0; i < n; ++i) {
      if (!each(v[i])) return false;
    }
    return true;
  }
  bool Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }
  bool AtEnd() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }
  const std::string& error() const { return error_; }

 private:
  bool Need(size_t n, const char* what) {
    if (in_.size() - pos_ < n) return Fail(absl::StrCat("truncated ", what, " at byte ", pos_));
    return true;
  }
  absl::Span<const uint8_t> in_;
  size_t pos_ = 0;
  std::string error_;
};

// One field list per message, shared by the encoder and the decoder.
template <typename V>
bool Visit(V& v, Hello& m) {
  return v.Int(m.n_lcores) && v.Int(m.lcore) && v.Int(m.pid) && v.Int(m.dp_epoch);
}
template <typename V>
bool Visit(V& v, SessionOpened& m) {
  return v.Int(m.lcore) && v.Addr(m.peer) && v.Int(m.peer_port) && v.Addr(m.local) &&
         v.Int(m.local_port) && v.Int(m.tls_version) && v.Str(m.tls_cipher, 128) &&
         v.Int(m.has_client_cert) && v.Fixed(m.client_cert_sha256) &&
         v.Str(m.client_cert_subject, 512) && v.Int(m.opened_unix_ns);
}
template <typename V>
bool Visit(V& v, PppFrame& m) {
  return v.Bytes(m.frame, kMaxPayload - 2);
}
template <typename V>
bool Visit(V& v, CounterBlock& m) {
  return v.Int(m.rx_bytes) && v.Int(m.tx_bytes) && v.Int(m.rx_packets) && v.Int(m.tx_packets) &&
         v.Int(m.last_rx_unix_ns);
}
template <typename V>
bool Visit(V& v, SessionClosed& m) {
  return v.Enum(m.reason, uint64_t(CloseReason::kMax)) && v.Str(m.detail, 256) &&
         Visit(v, m.counters);
}
template <typename V>
bool Visit(V& v, Counters& m) {
  return v.List(m.sessions, kMaxCounterEntries,
                [&](SessionCounters& s) { return v.Int(s.session_id) && Visit(v, s.counters); });
}
template <typename V>
bool Visit(V& v, RouteEntry& m) {
  return v.Addr(m.dst) && v.Int(m.prefix_len) && v.Addr(m.gateway) && v.Int(m.metric);
}
template <typename V>
bool Visit(V& v, SessionUp& m) {
  return v.Addr(m.local_v4) && v.Addr(m.remote_v4) && v.Int(m.local_ifid) && v.Int(m.remote_ifid) &&
         v.Int(m.mtu) && v.Int(m.mru) && v.Int(m.rate_rx_bps) && v.Int(m.rate_tx_bps) &&
         v.Int(m.session_timeout_s) && v.Int(m.idle_timeout_s) && v.Int(m.change_tcp_mss) &&
         v.Int(m.bridge) && v.Str(m.bridge_port, 64) && v.Addr(m.dns1) && v.Addr(m.dns2) &&
         v.Str(m.user, 256) &&
         v.List(m.routes, kMaxRoutes, [&](RouteEntry& r) { return Visit(v, r); });
}
template <typename V>
bool Visit(V& v, SessionAuthorized& m) {
  return v.Enum(m.method, uint64_t(AuthMethod::kMsChap2)) && v.Fixed(m.hlak) && v.Str(m.user, 256);
}
template <typename V>
bool Visit(V& v, SessionClose& m) {
  return v.Enum(m.reason, uint64_t(CloseReason::kMax)) && v.Str(m.detail, 256);
}
template <typename V>
bool Visit(V& v, Route& m) {
  return Visit(v, m.route);
}
template <typename V>
bool Visit(V& v, ServerConfig& m) {
  return v.Int(m.enabled) && v.Int(m.port) && v.Int(m.max_mtu) && v.Int(m.max_mru) &&
         v.Int(m.mrru) && v.Int(m.keepalive_timeout_s) && v.Int(m.require_client_certificate) &&
         v.Int(m.auth_mask) && v.Str(m.certificate_file) && v.Str(m.private_key_file);
}
template <typename V>
bool Visit(V& v, DumpRequest& m) {
  return v.Int(m.cp_epoch);
}
template <typename V>
bool Visit(V& v, DumpSession& m) {
  return Visit(v, m.opened) && Visit(v, m.authorized) && Visit(v, m.up) && Visit(v, m.counters) &&
         v.Int(m.up_unix_ns);
}
template <typename V>
bool Visit(V& v, DumpEnd& m) {
  return v.Int(m.cp_epoch) && v.Int(m.sessions);
}
template <typename V>
bool Visit(V& v, PortStatus& m) {
  return v.Str(m.name, 64) && v.Fixed(m.mac) && v.Int(m.mtu) && v.Int(m.running);
}
template <typename V>
bool Visit(V& v, IpAddressConfig& m) {
  return v.Str(m.interface, 64) && v.Addr(m.address) && v.Int(m.prefix_len) && v.Int(m.add);
}
template <typename V>
bool Visit(V& v, PortConfig& m) {
  return v.Str(m.name, 64) && v.Int(m.proxy_arp);
}

bool ValidPrefix(const RouteEntry& r) {
  if (r.dst.family == 4) return r.prefix_len <= 32;
  if (r.dst.family == 6) return r.prefix_len <= 128;
  return false;
}

// Semantic checks beyond the wire shape.
std::string Check(const Message& m) {
  if (auto* f = std::get_if<PppFrame>(&m)) {
    if (f->frame.size() < 2) return "PPP frame shorter than its protocol field";
  }
  if (auto* r = std::get_if<Route>(&m)) {
    if (!ValidPrefix(r->route)) return "route prefix length out of range";
  }
  if (auto* u = std::get_if<SessionUp>(&m)) {
    for (const RouteEntry& r : u->routes) {
      if (!ValidPrefix(r)) return "route prefix length out of range";
    }
    if (u->mtu != 0 && u->mtu < 64) return "MTU below 64";
  }
  if (auto* h = std::get_if<Hello>(&m)) {
    if (h->n_lcores == 0 || h->n_lcores > kMaxLcores || h->lcore >= h->n_lcores) {
      return "lcore out of range";
    }
  }
  if (auto* o = std::get_if<SessionOpened>(&m)) {
    if (o->lcore >= kMaxLcores) return "lcore out of range";
  }
  if (auto* a = std::get_if<IpAddressConfig>(&m)) {
    if (a->address.family != 4 || a->prefix_len > 32 || a->add > 1) return "bad interface address";
  }
  if (auto* c = std::get_if<ServerConfig>(&m)) {
    if (c->auth_mask > 0x0f) return "unknown authentication bits";
  }
  return "";
}

template <typename T>
absl::StatusOr<Message> DecodeAs(absl::Span<const uint8_t> payload) {
  T m{};
  Reader r(payload);
  if (!Visit(r, m)) return absl::InvalidArgumentError(r.error());
  if (!r.AtEnd()) {
    return absl::InvalidArgumentError(
        absl::StrCat(payload.size() - r.pos(), " trailing bytes after the message"));
  }
  Message out = std::move(m);
  std::string why = Check(out);
  if (!why.empty()) return absl::InvalidArgumentError(why);
  return out;
}

}  // namespace

IpAddr IpAddr::V4(uint32_t h) {
  IpAddr a;
  a.family = 4;
  a.bytes[0] = uint8_t(h >> 24);
  a.bytes[1] = uint8_t(h >> 16);
  a.bytes[2] = uint8_t(h >> 8);
  a.bytes[3] = uint8_t(h);
  return a;
}

uint32_t IpAddr::v4() const {
  return uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 | bytes[3];
}

std::string IpAddr::ToString() const {
  char buf[INET6_ADDRSTRLEN] = "";
  if (family == 4) inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  if (family == 6) inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

const char* MsgTypeName(MsgType t) {
  switch (t) {
    case MsgType::kHello:
      return "hello";
    case MsgType::kSessionOpened:
      return "session-opened";
    case MsgType::kPppFrameUp:
      return "ppp-frame-up";
    case MsgType::kSessionClosed:
      return "session-closed";
    case MsgType::kCounters:
      return "counters";
    case MsgType::kDumpSession:
      return "dump-session";
    case MsgType::kDumpEnd:
      return "dump-end";
    case MsgType::kPortStatus:
      return "port-status";
    case MsgType::kPppFrameDown:
      return "ppp-frame-down";
    case MsgType::kSessionAuthorized:
      return "session-authorized";
    case MsgType::kSessionUp:
      return "session-up";
    case MsgType::kSessionClose:
      return "session-close";
    case MsgType::kRouteAdd:
      return "route-add";
    case MsgType::kRouteDel:
      return "route-del";
    case MsgType::kServerConfig:
      return "server-config";
    case MsgType::kDumpRequest:
      return "dump-request";
    case MsgType::kPortConfig:
      return "port-config";
    case MsgType::kIpAddress:
      return "ip-address";
  }
  return "unknown";
}

const char* AuthMethodName(AuthMethod m) {
  switch (m) {
    case AuthMethod::kNone:
      return "none";
    case AuthMethod::kPap:
      return "pap";
    case AuthMethod::kChap:
      return "chap";
    case AuthMethod::kMsChap1:
      return "mschap1";
    case AuthMethod::kMsChap2:
      return "mschap2";
  }
  return "none";
}

const char* CloseReasonName(CloseReason r) {
  static const char* const kNames[] = {"unknown",
                                       "client-disconnect",
                                       "tcp-reset",
                                       "keepalive-timeout",
                                       "auth-failed",
                                       "negotiation-failed",
                                       "admin-close",
                                       "session-timeout",
                                       "idle-timeout",
                                       "no-address",
                                       "control-plane-gone",
                                       "crypto-binding-failed",
                                       "ring-full",
                                       "only-one"};
  size_t i = size_t(r);
  return i < sizeof(kNames) / sizeof(kNames[0]) ? kNames[i] : "unknown";
}

absl::StatusOr<Decoded> Decode(const RecordHeader& header, absl::Span<const uint8_t> payload) {
  if (header.version != kMessageVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("message version ", int(header.version),
                     " not supported (this build: ", int(kMessageVersion), ")"));
  }
  if (header.length != payload.size()) {
    return absl::InvalidArgumentError("record length does not match its payload");
  }
  Decoded d;
  d.type = MsgType(header.type);
  d.session_id = header.session_id;
  absl::StatusOr<Message> m;
  switch (d.type) {
    case MsgType::kHello:
      m = DecodeAs<Hello>(payload);
      break;
    case MsgType::kSessionOpened:
      m = DecodeAs<SessionOpened>(payload);
      break;
    case MsgType::kPppFrameUp:
    case MsgType::kPppFrameDown:
      m = DecodeAs<PppFrame>(payload);
      break;
    case MsgType::kSessionClosed:
      m = DecodeAs<SessionClosed>(payload);
      break;
    case MsgType::kCounters:
      m = DecodeAs<Counters>(payload);
      break;
    case MsgType::kDumpSession:
      m = DecodeAs<DumpSession>(payload);
      break;
    case MsgType::kDumpEnd:
      m = DecodeAs<DumpEnd>(payload);
      break;
    case MsgType::kPortStatus:
      m = DecodeAs<PortStatus>(payload);
      break;
    case MsgType::kSessionAuthorized:
      m = DecodeAs<SessionAuthorized>(payload);
      break;
    case MsgType::kSessionUp:
      m = DecodeAs<SessionUp>(payload);
      break;
    case MsgType::kSessionClose:
      m = DecodeAs<SessionClose>(payload);
      break;
    case MsgType::kRouteAdd:
    case MsgType::kRouteDel:
      m = DecodeAs<Route>(payload);
      break;
    case MsgType::kServerConfig:
      m = DecodeAs<ServerConfig>(payload);
      break;
    case MsgType::kDumpRequest:
      m = DecodeAs<DumpRequest>(payload);
      break;
    case MsgType::kPortConfig:
      m = DecodeAs<PortConfig>(payload);
      break;
    case MsgType::kIpAddress:
      m = DecodeAs<IpAddressConfig>(payload);
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown message type ", header.type));
  }
  if (!m.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(MsgTypeName(d.type), ": ", m.status().message()));
  }
  d.body = *std::move(m);
  return d;
}

std::vector<uint8_t> Encode(const Message& body) {
  std::vector<uint8_t> out;
  Writer w(&out);
  Message copy = body;  // Visit takes non-const references (shared with the reader)
  std::visit([&](auto& m) { Visit(w, m); }, copy);
  return out;
}

MsgType TypeOf(const Message& body, bool down_or_del) {
  struct V {
    bool alt;
    MsgType operator()(const Hello&) { return MsgType::kHello; }
    MsgType operator()(const SessionOpened&) { return MsgType::kSessionOpened; }
    MsgType operator()(const PppFrame&) {
      return alt ? MsgType::kPppFrameDown : MsgType::kPppFrameUp;
    }
    MsgType operator()(const SessionClosed&) { return MsgType::kSessionClosed; }
    MsgType operator()(const Counters&) { return MsgType::kCounters; }
    MsgType operator()(const DumpSession&) { return MsgType::kDumpSession; }
    MsgType operator()(const DumpEnd&) { return MsgType::kDumpEnd; }
    MsgType operator()(const PortStatus&) { return MsgType::kPortStatus; }
    MsgType operator()(const SessionAuthorized&) { return MsgType::kSessionAuthorized; }
    MsgType operator()(const SessionUp&) { return MsgType::kSessionUp; }
    MsgType operator()(const SessionClose&) { return MsgType::kSessionClose; }
    MsgType operator()(const Route&) { return alt ? MsgType::kRouteDel : MsgType::kRouteAdd; }
    MsgType operator()(const ServerConfig&) { return MsgType::kServerConfig; }
    MsgType operator()(const DumpRequest&) { return MsgType::kDumpRequest; }
    MsgType operator()(const PortConfig&) { return MsgType::kPortConfig; }
    MsgType operator()(const IpAddressConfig&) { return MsgType::kIpAddress; }
  };
  return std::visit(V{down_or_del}, body);
}

bool Send(Producer& producer, MsgType type, uint64_t session_id, const Message& body) {
  std::vector<uint8_t> bytes = Encode(body);
  return producer.Push(uint16_t(type), kMessageVersion, session_id, bytes);
}

}  // namespace ring
