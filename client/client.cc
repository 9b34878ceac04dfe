#include "client/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/proxy.h"

namespace client {
namespace {

constexpr absl::Duration kConnectTimeout = absl::Seconds(15);  // per address
constexpr absl::Duration kProxyTimeout = absl::Seconds(30);
constexpr absl::Duration kTlsTimeout = absl::Seconds(30);
// After SIGTERM: MS-SSTP 3.1.2 disconnect timers (5 s + 1 s) and a little slack.
constexpr absl::Duration kStopTimeout = absl::Seconds(7);
constexpr size_t kMaxPendingOutput = 1 << 20;  // stop reading the TUN above this
constexpr int kTunBurst = 64;

std::string Ipv4(uint32_t host_order) {
  char buf[INET_ADDRSTRLEN];
  uint32_t n = htonl(host_order);
  inet_ntop(AF_INET, &n, buf, sizeof(buf));
  return buf;
}

Prefix MakePrefix(const char* text) { return *ParsePrefix(text); }

// fe80::<64-bit interface identifier> (RFC 4291 2.5.6).
IpAddress LinkLocal(uint64_t id) {
  IpAddress a;
  a.family = AF_INET6;
  a.bytes[0] = 0xfe;
  a.bytes[1] = 0x80;
  for (int i = 0; i < 8; ++i) a.bytes[8 + i] = static_cast<uint8_t>(id >> (56 - 8 * i));
  return a;
}

std::string FormatMac(const std::array<uint8_t, 6>& m) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

std::string SignalName(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  return abbrev ? absl::StrCat("SIG", abbrev) : absl::StrCat("signal ", signo);
}

}  // namespace

Client::Client(Options options)
    : opt_(std::move(options)), backoff_(opt_.reconnect_min, opt_.reconnect_max) {
  in_.resize(16384);
  tun_buf_.resize(kIpHeadroom + 65536);
  out_.reserve(kMaxPendingOutput + 65536);
}

Client::~Client() {
  if (signal_fd_ >= 0) close(signal_fd_);
  if (fd_ >= 0) close(fd_);
}

void Client::Say(const std::string& line) {
  std::string t = absl::FormatTime("%H:%M:%S", absl::Now(), absl::LocalTimeZone());
  fprintf(stdout, "%s %s: %s\n", t.c_str(), opt_.name.c_str(), line.c_str());
  fflush(stdout);
}

void Client::SetStatus(const std::string& status, const std::string& detail) {
  status_ = status;
  Say(detail.empty() ? status : absl::StrCat(status, ": ", detail));
}

absl::Status Client::Init() {
  auto loop = EventLoop::Create();
  if (!loop.ok()) return loop.status();
  loop_ = std::move(*loop);

  // Signals arrive through a descriptor so they are handled between events, never inside one.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) return absl::ErrnoToStatus(errno, "signalfd");
  // A write to a socket the server reset must be an error, not the end of the program.
  signal(SIGPIPE, SIG_IGN);
  absl::Status s = loop_->Add(signal_fd_, EPOLLIN, [this](uint32_t) { OnSignal(); });
  if (!s.ok()) return s;

  TlsClientConfig tc;
  tc.certificate_file = opt_.certificate;
  tc.key_file = opt_.certificate_key;
  tc.ca_file = opt_.ca_file;
  tc.verify_server = opt_.verify_server;
  tc.anonymous = opt_.anonymous_tls;
  tc.server_name = opt_.connect_to.host;
  auto ctx = TlsClientContext::Create(tc);
  if (!ctx.ok()) return ctx.status();
  tls_ctx_ = std::move(*ctx);
  for (const std::string& w : tls_ctx_->warnings()) Say(absl::StrCat("warning: ", w));
  if (!opt_.verify_server) {
    Say("WARNING: --verify-server=no: the server's certificate is not checked; anyone between "
        "you and the server can read and change the tunnel");
  }
  if (opt_.fault == Fault::kTamperCompoundMac) {
    Say("WARNING: testing fault tamper-compound-mac: CALL_CONNECTED is sent with a wrong Compound "
        "MAC, every call will be aborted by a server that checks it");
  }
  if (opt_.password_on_command_line) {
    Say("warning: --password on the command line was visible to other users until now; use "
        "--password-file or SSTP_PASSWORD");
  }
  if (opt_.config_file_world_readable) {
    Say(absl::StrCat("warning: ", opt_.config_file,
                     " holds a password and is readable by everyone (chmod 600 it)"));
  }

  auto tun = Tun::Open(opt_.name, opt_.bridge);
  if (!tun.ok()) return tun.status();
  tun_.emplace(std::move(*tun));
  s = tun_->SetMtu(opt_.max_mtu);
  if (!s.ok()) return s;
  auto nl = Netlink::Open();
  if (!nl.ok()) return nl.status();
  nl_.emplace(std::move(*nl));

  auto srv = StatusServer::Bind(opt_.StatusSocketPath());
  if (!srv.ok()) return srv.status();
  status_server_ = std::move(*srv);
  s = loop_->Add(status_server_->fd(), EPOLLIN, [this](uint32_t) {
    status_server_->AnswerAll(FormatMonitor(Snapshot(), absl::Now()));
  });
  if (!s.ok()) return s;
  s = loop_->Add(tun_->fd(), EPOLLIN, [this](uint32_t) { OnTunReadable(); });
  if (!s.ok()) return s;

  if (opt_.dial_on_demand) {
    // The routes must point into the TUN before there is a tunnel, so the first packet can ask
    // for one; the server (and proxy) must then stay reachable the old way.
    if (opt_.add_default_route) {
      const HostPort& target = opt_.proxy.empty() ? opt_.connect_to : opt_.proxy;
      auto addrs = Resolve(target.host, target.port);
      if (!addrs.ok()) return addrs.status();
      s = InstallHostRoutes(*addrs);
      if (!s.ok()) return s;
    }
    s = tun_->SetUp(true);
    if (!s.ok()) return s;
    s = InstallTunnelRoutes(&demand_routes_);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

int Client::Run() {
  if (opt_.dial_on_demand) {
    stage_ = Stage::kIdle;
    SetStatus("waiting", "dial-on-demand: connecting on the first packet");
  } else {
    StartAttempt();
  }
  while (stage_ != Stage::kStopped) {
    absl::Status s = loop_->RunOnce(NextDeadline());
    if (!s.ok()) {
      Say(absl::StrCat("error: ", s.message()));
      exit_code_ = 1;
      break;
    }
    OnTimer();
  }
  CloseConnection();
  RemoveSessionNetwork();
  RemoveRoutes(&demand_routes_);
  for (const HostRoute& r : host_routes_) {
    (void)nl_->DeleteRoute(r.dst, r.ifindex, r.gateway);
  }
  host_routes_.clear();
  if (tun_) (void)tun_->SetUp(false);
  Say("stopped");
  return exit_code_;
}

absl::Time Client::NextDeadline() const {
  absl::Time t = std::min(stage_deadline_, stop_deadline_);
  if (engine_ != nullptr) t = std::min(t, engine_->next_deadline());
  return t;
}

void Client::OnTimer() {
  absl::Time now = absl::Now();
  if (stop_deadline_ <= now) {
    Say("the server did not acknowledge the disconnect in time; closing");
    CloseConnection();
    stage_ = Stage::kStopped;
    return;
  }
  if (engine_ != nullptr && engine_->next_deadline() <= now) {
    engine_->OnTimer(now);
    AfterEngine();
  }
  if (stage_deadline_ > now) return;
  stage_deadline_ = absl::InfiniteFuture();
  switch (stage_) {
    case Stage::kBackoff:
      if (demand_wait_after_backoff_) {
        stage_ = Stage::kIdle;
        SetStatus("waiting", "dial-on-demand: connecting on the next packet");
      } else {
        StartAttempt();
      }
      break;
    case Stage::kConnecting:
      last_error_ = absl::StrCat("connect to ", peer_.ToString(), " timed out");
      TryNextAddress();
      break;
    case Stage::kProxy:
      EndAttempt(absl::StrCat("proxy ", opt_.proxy.ToString(), " did not answer the CONNECT"),
                 true);
      break;
    case Stage::kTls:
      EndAttempt("TLS handshake timed out", true);
      break;
    default:
      break;
  }
}

void Client::StartAttempt() {
  stage_ = Stage::kConnecting;
  const HostPort& target = opt_.proxy.empty() ? opt_.connect_to : opt_.proxy;
  SetStatus("connecting", opt_.proxy.empty()
                              ? absl::StrCat("to ", opt_.connect_to.ToString())
                              : absl::StrCat("to ", opt_.connect_to.ToString(), " through proxy ",
                                             opt_.proxy.ToString()));
  auto addrs = Resolve(target.host, target.port);
  if (!addrs.ok()) {
    EndAttempt(std::string(addrs.status().message()), true);
    return;
  }
  addrs_ = std::move(*addrs);
  addr_index_ = 0;
  if (opt_.add_default_route) {
    absl::Status s = InstallHostRoutes(addrs_);
    if (!s.ok()) Say(absl::StrCat("warning: ", s.message()));
  }
  last_error_.clear();
  TryNextAddress();
}

void Client::TryNextAddress() {
  if (fd_ >= 0) {
    loop_->Remove(fd_);
    close(fd_);
    fd_ = -1;
  }
  while (addr_index_ < addrs_.size()) {
    peer_ = addrs_[addr_index_++];
    auto fd = StartConnect(peer_);
    if (!fd.ok()) {
      last_error_ = std::string(fd.status().message());
      continue;
    }
    fd_ = *fd;
    absl::Status s = loop_->Add(fd_, EPOLLOUT, [this](uint32_t ev) { OnSocketEvent(ev); });
    if (!s.ok()) {
      last_error_ = std::string(s.message());
      close(fd_);
      fd_ = -1;
      continue;
    }
    stage_ = Stage::kConnecting;
    stage_deadline_ = absl::Now() + kConnectTimeout;
    return;
  }
  EndAttempt(last_error_.empty() ? "no address to connect to" : last_error_, true);
}

void Client::OnSocketEvent(uint32_t events) {
  switch (stage_) {
    case Stage::kConnecting: {
      absl::Status s = FinishConnect(fd_, peer_);
      if (!s.ok()) {
        last_error_ = std::string(s.message());
        TryNextAddress();
        return;
      }
      OnConnected();
      return;
    }
    case Stage::kProxy:
      ProxyRead();
      return;
    case Stage::kTls:
      TlsHandshakeStep();
      return;
    case Stage::kSession:
      if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        SessionRead();
        if (engine_ == nullptr) return;
      }
      if (events & EPOLLOUT) FlushOutput();
      AfterEngine();
      return;
    default:
      return;
  }
}

void Client::OnConnected() {
  auto local = LocalAddress(fd_);
  caller_id_ = opt_.proxy.empty() && local.ok() ? local->ToString() : "";
  if (opt_.proxy.empty()) {
    StartTls();
    return;
  }
  // RFC 9110 9.3.6: CONNECT host:port. The request is small; a fresh socket takes it whole.
  std::string req =
      BuildConnectRequest(opt_.connect_to.ToString(), opt_.proxy_user, opt_.proxy_password);
  ssize_t n = send(fd_, req.data(), req.size(), MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(req.size())) {
    EndAttempt(absl::StrCat("proxy ", opt_.proxy.ToString(),
                            ": cannot send CONNECT: ", n < 0 ? strerror(errno) : "short write"),
               true);
    return;
  }
  proxy_buf_.clear();
  stage_ = Stage::kProxy;
  stage_deadline_ = absl::Now() + kProxyTimeout;
  (void)loop_->Modify(fd_, EPOLLIN);
}

void Client::ProxyRead() {
  // Read exactly the proxy's header: what follows belongs to TLS, which reads the socket itself.
  uint8_t peek[kMaxProxyReplyHeader + 1];
  ssize_t n = recv(fd_, peek, sizeof(peek) - proxy_buf_.size(), MSG_PEEK);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    EndAttempt(absl::StrCat("proxy ", opt_.proxy.ToString(), ": ", strerror(errno)), true);
    return;
  }
  if (n == 0) {
    EndAttempt(absl::StrCat("proxy ", opt_.proxy.ToString(),
                            " closed the connection before answering the CONNECT"),
               true);
    return;
  }
  std::vector<uint8_t> all = proxy_buf_;
  all.insert(all.end(), peek, peek + n);
  auto reply = ParseConnectReply(absl::MakeConstSpan(all));
  if (!reply.ok()) {
    EndAttempt(absl::StrCat("proxy ", opt_.proxy.ToString(), ": ", reply.status().message()), true);
    return;
  }
  if (!reply->has_value()) {
    // Everything peeked is header: take it off the socket.
    (void)!recv(fd_, peek, n, 0);
    proxy_buf_ = std::move(all);
    return;
  }
  size_t need = (*reply)->header_length - proxy_buf_.size();
  (void)!recv(fd_, peek, need, 0);
  proxy_buf_.clear();
  absl::Status s = ProxyReplyStatus(**reply);
  if (!s.ok()) {
    EndAttempt(std::string(s.message()), true);
    return;
  }
  Say(absl::StrCat("proxy ", opt_.proxy.ToString(), ": tunnel to ", opt_.connect_to.ToString(),
                   " open (", (*reply)->status_code, " ", (*reply)->reason, ")"));
  StartTls();
}

void Client::StartTls() {
  auto tls = TlsConnection::Create(*tls_ctx_, fd_, opt_.connect_to.host);
  if (!tls.ok()) {
    EndAttempt(std::string(tls.status().message()), true);
    return;
  }
  tls_ = std::move(*tls);
  stage_ = Stage::kTls;
  stage_deadline_ = absl::Now() + kTlsTimeout;
  TlsHandshakeStep();
}

void Client::TlsHandshakeStep() {
  auto r = tls_->Handshake();
  if (!r.ok()) {
    EndAttempt(std::string(r.status().message()), true);
    return;
  }
  if (*r == IoWait::kRead) {
    (void)loop_->Modify(fd_, EPOLLIN);
    return;
  }
  if (*r == IoWait::kWrite) {
    (void)loop_->Modify(fd_, EPOLLOUT);
    return;
  }
  Say(absl::StrCat("TLS established (", tls_->version(), ", ", tls_->cipher(), "), server ",
                   tls_->peer_subject()));
  EngineConfig ec;
  ec.host = opt_.connect_to.host;
  ec.user = opt_.user;
  ec.password = opt_.password;
  ec.auth_methods = opt_.authentication;
  ec.mru = opt_.max_mru;
  ec.mrru = opt_.mrru;
  ec.keepalive = opt_.keepalive_timeout;
  ec.tamper_compound_mac = opt_.fault == Fault::kTamperCompoundMac;
  ec.bridge = opt_.bridge;
  std::copy(tls_->peer_cert_sha1().begin(), tls_->peer_cert_sha1().end(), ec.cert_sha1.begin());
  ec.cert_sha256 = tls_->peer_cert_sha256();
  ec.random = [this](absl::Span<uint8_t> out) {
    for (uint8_t& b : out) b = absl::Uniform<uint8_t>(rng_);
  };
  engine_ = std::make_unique<Engine>(std::move(ec), static_cast<EngineOutput*>(this));
  stage_ = Stage::kSession;
  stage_deadline_ = absl::InfiniteFuture();
  (void)loop_->Modify(fd_, EPOLLIN);
  engine_->Start(absl::Now());
  AfterEngine();
}

void Client::SessionRead() {
  for (int i = 0; i < 64 && engine_ != nullptr && !engine_->closed(); ++i) {
    auto r = tls_->Read(absl::MakeSpan(in_));
    absl::Time now = absl::Now();
    if (!r.ok()) {
      engine_->OnTransportClosed(now, std::string(r.status().message()));
      return;
    }
    if (r->eof) {
      engine_->OnTransportClosed(now, "the server closed the connection");
      return;
    }
    if (r->bytes == 0) {
      if (r->wait == IoWait::kWrite) tls_write_wait_ = IoWait::kWrite;
      return;
    }
    engine_->OnServerBytes(now, absl::MakeConstSpan(in_.data(), r->bytes));
  }
}

void Client::SendToServer(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) {
  out_.insert(out_.end(), head.begin(), head.end());
  out_.insert(out_.end(), tail.begin(), tail.end());
}

void Client::FlushOutput() {
  if (tls_ == nullptr || !transport_error_.empty()) return;
  tls_write_wait_ = IoWait::kNone;
  while (out_pos_ < out_.size()) {
    auto r = tls_->Write(absl::MakeConstSpan(out_.data() + out_pos_, out_.size() - out_pos_));
    if (!r.ok()) {
      transport_error_ = std::string(r.status().message());
      return;
    }
    if (r->bytes == 0) {
      tls_write_wait_ = r->wait;
      break;
    }
    out_pos_ += r->bytes;
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  uint32_t ev = EPOLLIN;
  if (tls_write_wait_ == IoWait::kWrite) ev |= EPOLLOUT;
  if (fd_ >= 0) (void)loop_->Modify(fd_, ev);
  // Back-pressure: stop reading the TUN while the server is slower than the applications.
  size_t pending = out_.size() - out_pos_;
  if (!tun_paused_ && pending > kMaxPendingOutput) {
    tun_paused_ = true;
    (void)loop_->Modify(tun_->fd(), 0);
  } else if (tun_paused_ && pending < kMaxPendingOutput / 4) {
    tun_paused_ = false;
    (void)loop_->Modify(tun_->fd(), EPOLLIN);
  }
}

void Client::AfterEngine() {
  if (engine_ == nullptr) return;
  FlushOutput();
  if (!transport_error_.empty() && !engine_->closed()) {
    std::string e = transport_error_;
    engine_->OnTransportClosed(absl::Now(), e);
  }
  if (engine_->closed()) {
    std::string reason = engine_->close_reason();
    EndAttempt(reason.empty() ? "connection closed" : reason, !was_connected_);
  }
}

void Client::DeliverIp(absl::Span<const uint8_t> packet) {
  absl::Status s = tun_->Write(packet);
  if (!s.ok()) Say(absl::StrCat("warning: ", s.message()));
}

void Client::OnPhase(Phase phase, const std::string& detail) {
  switch (phase) {
    case Phase::kHttp:
    case Phase::kNegotiating:
      SetStatus("negotiating", detail);
      break;
    case Phase::kAuthenticating:
      SetStatus("authenticating", detail);
      break;
    case Phase::kNetwork:
      SetStatus("configuring", detail);
      break;
    case Phase::kConnected:
      // Also announced again when IPCP opens after IPV6CP: the uptime runs from the first.
      if (connected_since_ == absl::InfinitePast()) connected_since_ = absl::Now();
      SetStatus("connected", detail);
      break;
    case Phase::kDisconnecting:
      SetStatus("disconnecting", detail);
      break;
    case Phase::kClosed:
      break;
  }
}

void Client::OnNetworkUp(const NetworkUp& up) {
  const bool first = !network_.has_value();
  const int ifindex = tun_->ifindex();
  absl::Status s;
  // IPv4 (IPCP): a point-to-point address, as pppd sets it.
  const bool v4_changed = !network_ || network_->ipv4 != up.ipv4 ||
                          network_->local_address != up.local_address ||
                          network_->remote_address != up.remote_address;
  if (v4_changed && network_ && network_->ipv4) {
    (void)nl_->DeleteAddress(ifindex, IpAddress::V4(htonl(network_->local_address)),
                             IpAddress::V4(htonl(network_->remote_address)), 32);
  }
  if (v4_changed && up.ipv4) {
    s = nl_->AddAddress(ifindex, IpAddress::V4(htonl(up.local_address)),
                        IpAddress::V4(htonl(up.remote_address)), 32);
    if (!s.ok()) Say(absl::StrCat("error: ", s.message()));
    Say(absl::StrCat("address ", Ipv4(up.local_address), " peer ", Ipv4(up.remote_address), " on ",
                     opt_.name));
  }
  // IPv6 (IPV6CP, RFC 5072 5): link-local addresses from the interface identifiers; the server's
  // router advertisements, if it sends any, do the rest through the kernel.
  const bool v6_changed = !network_ || network_->ipv6 != up.ipv6 ||
                          network_->local_interface_id != up.local_interface_id ||
                          network_->remote_interface_id != up.remote_interface_id;
  if (v6_changed && network_ && network_->ipv6) {
    (void)nl_->DeleteAddress(ifindex, LinkLocal(network_->local_interface_id),
                             LinkLocal(network_->remote_interface_id), 128);
  }
  if (v6_changed && up.ipv6) {
    s = nl_->AddAddress(ifindex, LinkLocal(up.local_interface_id),
                        LinkLocal(up.remote_interface_id), 128);
    if (!s.ok()) Say(absl::StrCat("error: ", s.message()));
    Say(absl::StrCat("address ", LinkLocal(up.local_interface_id).ToString(), " peer ",
                     LinkLocal(up.remote_interface_id).ToString(), " on ", opt_.name));
  }
  network_ = up;
  was_connected_ = true;
  if (!first) return;
  if (opt_.bridge) {
    s = tun_->SetMtu(TunMtu());
    if (!s.ok()) Say(absl::StrCat("warning: ", s.message()));
    s = tun_->SetUp(true);
    if (!s.ok()) Say(absl::StrCat("error: ", s.message()));
    Say(absl::StrCat("bridged: ", opt_.name, " up, mtu ", TunMtu(),
                     up.peer_mac ? absl::StrCat(", server MAC ", FormatMac(*up.peer_mac)) : "",
                     "; add it to a bridge with the LAN (ip link set ", opt_.name,
                     " master BRIDGE)"));
    return;
  }
  int mtu = std::min(opt_.max_mtu, up.peer_mru);
  s = tun_->SetMtu(mtu);
  if (!s.ok()) Say(absl::StrCat("warning: ", s.message()));
  s = tun_->SetUp(true);
  if (!s.ok()) Say(absl::StrCat("error: ", s.message()));
  Say(absl::StrCat("mtu ", mtu, ", ", opt_.name, " up"));
  if (!opt_.dial_on_demand) {
    s = InstallTunnelRoutes(&session_routes_);
    if (!s.ok()) Say(absl::StrCat("error: ", s.message()));
  }
  if (opt_.use_peer_dns) WriteDns(up);
}

absl::Status Client::InstallTunnelRoutes(std::vector<Prefix>* record) {
  std::vector<Prefix> want = opt_.routes;
  if (opt_.add_default_route) {
    // Two halves instead of 0.0.0.0/0: they win over the existing default route by length, so
    // it is neither replaced nor lost if the client dies, and nothing has to be restored.
    want.push_back(MakePrefix("0.0.0.0/1"));
    want.push_back(MakePrefix("128.0.0.0/1"));
  }
  absl::Status first;
  for (const Prefix& p : want) {
    absl::Status s = nl_->AddRoute(p, tun_->ifindex(), IpAddress{});
    if (s.ok()) {
      record->push_back(p);
      Say(absl::StrCat("route ", p.ToString(), " via ", opt_.name));
    } else if (first.ok()) {
      first = s;
    }
  }
  return first;
}

void Client::RemoveRoutes(std::vector<Prefix>* routes) {
  for (const Prefix& p : *routes) (void)nl_->DeleteRoute(p, tun_->ifindex(), IpAddress{});
  routes->clear();
}

absl::Status Client::InstallHostRoutes(const std::vector<SocketAddress>& addrs) {
  for (const SocketAddress& a : addrs) {
    IpAddress ip = a.ip();
    bool known = false;
    for (const HostRoute& r : host_routes_)
      known |= r.dst.family == ip.family && memcmp(r.dst.addr, ip.bytes, 16) == 0;
    if (known) continue;
    auto info = nl_->GetRoute(ip);
    if (!info.ok()) return info.status();
    if (info->ifindex == tun_->ifindex()) continue;  // already through the tunnel: nothing known
    HostRoute r{HostPrefix(ip), info->ifindex, info->gateway};
    absl::Status s = nl_->AddRoute(r.dst, r.ifindex, r.gateway);
    if (!s.ok()) return s;
    host_routes_.push_back(r);
    Say(absl::StrCat("route ", r.dst.ToString(), " kept outside the tunnel",
                     r.gateway.empty() ? "" : absl::StrCat(" via ", r.gateway.ToString())));
  }
  return absl::OkStatus();
}

void Client::WriteDns(const NetworkUp& up) {
  std::vector<std::string> servers;
  if (up.primary_dns) servers.push_back(Ipv4(up.primary_dns));
  if (up.secondary_dns) servers.push_back(Ipv4(up.secondary_dns));
  if (servers.empty()) {
    Say("dns: the server offered no DNS servers");
    return;
  }
  std::string text = absl::StrCat("# sstp-client ", opt_.name,
                                  ": DNS servers from the SSTP server (IPCP, RFC 1877)\n");
  for (const auto& s : servers) absl::StrAppend(&text, "nameserver ", s, "\n");
  std::string path = opt_.DnsFilePath();
  std::string tmp = path + ".tmp";
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) mkdir(path.substr(0, slash).c_str(), 0755);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    Say(absl::StrCat("warning: cannot write ", tmp, ": ", strerror(errno)));
    if (fd >= 0) close(fd);
    return;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    Say(absl::StrCat("warning: cannot rename ", tmp, ": ", strerror(errno)));
    return;
  }
  dns_written_ = true;
  Say(absl::StrCat("dns: ", absl::StrJoin(servers, ", "), " written to ", path,
                   " (feed it to resolvconf or copy it to /etc/resolv.conf)"));
}

void Client::RemoveSessionNetwork() {
  if (!nl_ || !tun_) return;
  RemoveRoutes(&session_routes_);
  if (network_) {
    if (network_->ipv4) {
      (void)nl_->DeleteAddress(tun_->ifindex(), IpAddress::V4(htonl(network_->local_address)),
                               IpAddress::V4(htonl(network_->remote_address)), 32);
    }
    if (network_->ipv6) {
      (void)nl_->DeleteAddress(tun_->ifindex(), LinkLocal(network_->local_interface_id),
                               LinkLocal(network_->remote_interface_id), 128);
    }
    network_.reset();
  }
  if (!opt_.dial_on_demand) (void)tun_->SetUp(false);
  if (dns_written_) {
    unlink(opt_.DnsFilePath().c_str());
    dns_written_ = false;
  }
}

void Client::OnTunReadable() {
  absl::Time now = absl::Now();
  bool session = engine_ != nullptr && engine_->connected();
  for (int i = 0; i < kTunBurst; ++i) {
    auto n = tun_->Read(absl::MakeSpan(tun_buf_).subspan(kIpHeadroom));
    if (!n.ok()) {
      Say(absl::StrCat("error: ", n.status().message()));
      return;
    }
    if (*n == 0) break;
    if (session) {
      engine_->SendIp(now, absl::MakeSpan(tun_buf_), *n);
      continue;
    }
    ++totals_.tx_dropped;
    // Only IPv4 goes through the tunnel; the kernel's own IPv6 chatter on a new interface
    // (router and multicast listener solicitations) must not dial.
    bool ipv4 = (tun_buf_[kIpHeadroom] >> 4) == 4;
    if (stage_ == Stage::kIdle && ipv4) {
      Say("dial-on-demand: traffic for the tunnel");
      StartAttempt();
      return;
    }
  }
  if (session) AfterEngine();
}

void Client::OnSignal() {
  signalfd_siginfo si;
  int signo = 0;
  while (read(signal_fd_, &si, sizeof(si)) == sizeof(si)) signo = si.ssi_signo;
  if (signo == 0) return;
  if (stopping_) {
    Say(absl::StrCat("received ", SignalName(signo), " again: stopping now"));
    CloseConnection();
    stage_ = Stage::kStopped;
    return;
  }
  stopping_ = true;
  if (engine_ != nullptr && !engine_->closed()) {
    Say(absl::StrCat("received ", SignalName(signo), ": disconnecting"));
    absl::Time now = absl::Now();
    stop_deadline_ = now + kStopTimeout;
    engine_->Disconnect(now, absl::StrCat("stopped by ", SignalName(signo)));
    AfterEngine();
    return;
  }
  Say(absl::StrCat("received ", SignalName(signo), ": stopping"));
  CloseConnection();
  stage_ = Stage::kStopped;
}

void Client::EndAttempt(const std::string& reason, bool failure) {
  bool had_session = was_connected_;
  CloseConnection();
  RemoveSessionNetwork();
  last_error_ = reason;
  SetStatus("disconnected", reason);
  if (stopping_) {
    stage_ = Stage::kStopped;
    return;
  }
  if (opt_.once) {
    exit_code_ = had_session ? 0 : 1;
    stage_ = Stage::kStopped;
    return;
  }
  if (had_session) backoff_.Reset();
  absl::Duration d = backoff_.Next(absl::Uniform(rng_, 0.0, 1.0));
  ++reconnects_;
  // With dial-on-demand a session that ended waits for traffic; a failure is retried after the
  // backoff (traffic is what asked for it).
  demand_wait_after_backoff_ = opt_.dial_on_demand && had_session;
  if (demand_wait_after_backoff_) d = absl::ZeroDuration();
  stage_ = Stage::kBackoff;
  stage_deadline_ = absl::Now() + d;
  if (d > absl::ZeroDuration()) {
    Say(absl::StrCat("reconnecting in ",
                     absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(100)))));
  }
  (void)failure;
}

void Client::CloseConnection() {
  if (engine_ != nullptr) {
    const EngineCounters& c = engine_->counters();
    totals_.tx_bytes += c.tx_bytes;
    totals_.rx_bytes += c.rx_bytes;
    totals_.tx_packets += c.tx_packets;
    totals_.rx_packets += c.rx_packets;
    totals_.tx_dropped += c.tx_dropped;
    totals_.rx_dropped += c.rx_dropped;
    totals_.last_activity = std::max(totals_.last_activity, c.last_activity);
  }
  if (tls_ != nullptr) {
    if (transport_error_.empty()) tls_->Shutdown();
    tls_.reset();
  }
  if (fd_ >= 0) {
    loop_->Remove(fd_);
    close(fd_);
    fd_ = -1;
  }
  engine_.reset();
  out_.clear();
  out_pos_ = 0;
  proxy_buf_.clear();
  tls_write_wait_ = IoWait::kNone;
  transport_error_.clear();
  was_connected_ = false;
  connected_since_ = absl::InfinitePast();
  stage_deadline_ = absl::InfiniteFuture();
  if (tun_paused_) {
    tun_paused_ = false;
    (void)loop_->Modify(tun_->fd(), EPOLLIN);
  }
}

int Client::TunMtu() const {
  int frame = std::min(opt_.max_mtu, network_ ? network_->peer_mru : opt_.max_mtu);
  // Bridged: the PPP information field holds the 2-byte RFC 3518 header and the 14-byte Ethernet
  // header in front of what the TAP calls its MTU.
  return opt_.bridge ? frame - 16 : frame;
}

StatusSnapshot Client::Snapshot() const {
  StatusSnapshot s;
  s.status = status_;
  s.name = opt_.name;
  s.server = opt_.connect_to.ToString();
  s.proxy = opt_.proxy.empty() ? "" : opt_.proxy.ToString();
  s.user = opt_.user;
  s.caller_id = caller_id_;
  s.connected_since = connected_since_;
  EngineCounters c = totals_;
  if (engine_ != nullptr) {
    const EngineCounters& e = engine_->counters();
    c.tx_bytes += e.tx_bytes;
    c.rx_bytes += e.rx_bytes;
    c.tx_packets += e.tx_packets;
    c.rx_packets += e.rx_packets;
    c.tx_dropped += e.tx_dropped;
    c.rx_dropped += e.rx_dropped;
    c.last_activity = std::max(c.last_activity, e.last_activity);
  }
  s.last_activity = c.last_activity;
  s.tx_bytes = c.tx_bytes;
  s.rx_bytes = c.rx_bytes;
  s.tx_packets = c.tx_packets;
  s.rx_packets = c.rx_packets;
  s.tx_dropped = c.tx_dropped;
  s.rx_dropped = c.rx_dropped;
  s.reconnects = reconnects_;
  if (network_) {
    s.mtu = TunMtu();
    if (network_->bridge) {
      s.bridge = network_->peer_mac
                     ? absl::StrCat("BCP, server MAC ", FormatMac(*network_->peer_mac))
                     : "BCP";
    }
    s.mru = opt_.max_mru;
    s.authentication = network_->auth_method;
    if (network_->ipv4) {
      s.local_address = Ipv4(network_->local_address);
      s.remote_address = Ipv4(network_->remote_address);
    }
    if (network_->ipv6) {
      s.local_address6 = LinkLocal(network_->local_interface_id).ToString();
      s.remote_address6 = LinkLocal(network_->remote_interface_id).ToString();
    }
    std::vector<std::string> dns;
    if (network_->primary_dns) dns.push_back(Ipv4(network_->primary_dns));
    if (network_->secondary_dns) dns.push_back(Ipv4(network_->secondary_dns));
    s.dns = absl::StrJoin(dns, ",");
  }
  if (status_ != "connected") s.last_error = last_error_;
  if (stage_ == Stage::kBackoff && stage_deadline_ != absl::InfiniteFuture()) {
    s.next_attempt = absl::StrCat(
        "in ", FormatRouterOsDuration(absl::Ceil(stage_deadline_ - absl::Now(), absl::Seconds(1))));
  }
  return s;
}

}  // namespace client
