// sstp-loadgen: N concurrent SSTP sessions from one process and one epoll loop, for measuring a
// concentrator's session setup rate. Each session is kernel TCP + OpenSSL on the socket
// (client::TlsConnection, the client's own TLS layer) driving client::Engine, the same I/O-free
// protocol engine as sstp-client: HTTP handshake (MS-SSTP 3.2.4.1), the SSTP client state
// machine, PPP LCP, authentication, IPCP and the crypto binding (MS-SSTP 3.2.5.2, with the
// hashes of the server's leaf certificate). No TUN: a session counts as established when the
// engine reaches Phase::kConnected (IPCP open and CALL_CONNECTED sent).
//
// Prints one JSON object on stdout: attempted / established / failed (reasons counted), the setup
// rate achieved, p50 / p99 setup latency (TCP connect start to kConnected) and peak concurrency.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/engine.h"
#include "client/tls_client.h"

namespace {

struct Options {
  std::string host;
  int port = 443;
  std::string user = "load";
  std::string password;
  int sessions = 100;
  double rate = 50;  // new sessions per second; 0: all at once
  double duration = 10;
  double setup_timeout = 30;
  bool verify_server = true;
  std::string ca_file;
  std::vector<sockaddr_in> sources;
  // Reference mode: count a session as set up when the TLS handshake completes, then close it.
  // The same concurrency, sockets and TLS stack as a full run, without SSTP and PPP.
  bool tls_only = false;
  bool ipv6 = false;  // IPV6CP as well (off: one NCP, like most load tests of IPv4 pools)
};

void Usage() {
  std::fprintf(
      stderr,
      "usage: sstp-loadgen --connect-to HOST[:PORT] --password PW [--user NAME|PATTERN%%d]\n"
      "  [--sessions N] [--rate R/s] [--duration S] [--setup-timeout S]\n"
      "  [--verify-server=no | --ca-file FILE] [--source-addresses A,B,...] [--ipv6]\n"
      "  [--tls-only: reference, TCP + TLS handshake only]\n");
}

bool ParseOptions(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], v;
    size_t eq = a.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto value = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    if (a == "--ipv6") {
      o.ipv6 = true;
      continue;
    }
    if (a == "--tls-only") {
      o.tls_only = true;
      continue;
    }
    if (a == "--help" || a == "-h") return false;
    if (!value()) {
      std::fprintf(stderr, "%s needs a value\n", a.c_str());
      return false;
    }
    bool ok = true;
    if (a == "--connect-to") {
      size_t c = v.rfind(':');
      o.host = v.substr(0, c);
      if (c != std::string::npos) ok = absl::SimpleAtoi(v.substr(c + 1), &o.port);
    } else if (a == "--user") {
      o.user = v;
    } else if (a == "--password") {
      o.password = v;
    } else if (a == "--sessions") {
      ok = absl::SimpleAtoi(v, &o.sessions) && o.sessions > 0;
    } else if (a == "--rate") {
      ok = absl::SimpleAtod(v, &o.rate) && o.rate >= 0;
    } else if (a == "--duration") {
      ok = absl::SimpleAtod(v, &o.duration) && o.duration >= 0;
    } else if (a == "--setup-timeout") {
      ok = absl::SimpleAtod(v, &o.setup_timeout) && o.setup_timeout > 0;
    } else if (a == "--verify-server") {
      ok = v == "yes" || v == "no";
      o.verify_server = v == "yes";
    } else if (a == "--ca-file") {
      o.ca_file = v;
    } else if (a == "--source-addresses") {
      for (absl::string_view s : absl::StrSplit(v, ',', absl::SkipEmpty())) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        if (inet_pton(AF_INET, std::string(s).c_str(), &sa.sin_addr) != 1) ok = false;
        o.sources.push_back(sa);
      }
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return false;
    }
    if (!ok) {
      std::fprintf(stderr, "bad value for %s: %s\n", a.c_str(), v.c_str());
      return false;
    }
  }
  if (o.host.empty() || o.password.empty()) return false;
  return true;
}

enum class Stage : uint8_t { kConnecting, kTls, kSession };

struct Session : client::EngineOutput {
  int index = 0;
  int fd = -1;
  Stage stage = Stage::kConnecting;
  absl::Time started;
  bool established = false;
  std::unique_ptr<client::TlsConnection> tls;
  std::unique_ptr<client::Engine> engine;
  std::vector<uint8_t> out;
  size_t out_pos = 0;
  client::IoWait tls_wait = client::IoWait::kNone;  // handshake or write waiting for the socket
  std::string failure;                              // set once: the session is finished
  bool reached_connected = false;

  void SendToServer(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) override {
    out.insert(out.end(), head.begin(), head.end());
    out.insert(out.end(), tail.begin(), tail.end());
  }
  void DeliverIp(absl::Span<const uint8_t>) override {}
  void OnPhase(client::Phase phase, const std::string&) override {
    if (phase == client::Phase::kConnected) reached_connected = true;
  }
  void OnNetworkUp(const client::NetworkUp&) override {}
};

class LoadGen {
 public:
  LoadGen(Options o, client::TlsClientContext* ctx) : o_(std::move(o)), ctx_(ctx) {}
  int Run();

 private:
  void StartSession(absl::Time now);
  void OnEvent(Session* s, uint32_t events, absl::Time now);
  void MarkEstablished(Session* s, absl::Time now);
  void Progress(Session* s, absl::Time now);  // after any input: flush, check, rearm
  void Flush(Session* s);
  void Finish(Session* s, const std::string& reason, absl::Time now);
  void Rearm(Session* s);
  void Print(absl::Time t0, absl::Time end);

  Options o_;
  client::TlsClientContext* ctx_;
  int ep_ = -1;
  sockaddr_in server_{};
  std::vector<std::unique_ptr<Session>> sessions_;  // live ones (nullptr once finished)
  int started_ = 0, established_ = 0, failed_ = 0, dropped_ = 0, live_connected_ = 0, peak_ = 0;
  int in_setup_ = 0;
  bool disconnecting_ = false;  // our orderly end is under way: closes are not drops
  std::map<std::string, int> reasons_;
  std::vector<double> latencies_ms_;
  absl::Time first_established_ = absl::InfiniteFuture(), last_established_ = absl::InfinitePast();
  std::vector<uint8_t> in_ = std::vector<uint8_t>(16384);
};

void LoadGen::Rearm(Session* s) {
  uint32_t ev = EPOLLIN;
  if (s->stage == Stage::kConnecting) ev = EPOLLOUT;
  if (s->stage == Stage::kTls) ev = s->tls_wait == client::IoWait::kWrite ? EPOLLOUT : EPOLLIN;
  if (s->stage == Stage::kSession &&
      (s->out_pos < s->out.size() || s->tls_wait == client::IoWait::kWrite))
    ev |= EPOLLOUT;
  epoll_event e{};
  e.events = ev;
  e.data.ptr = s;
  (void)epoll_ctl(ep_, EPOLL_CTL_MOD, s->fd, &e);
}

void LoadGen::StartSession(absl::Time now) {
  auto s = std::make_unique<Session>();
  s->index = started_++;
  s->started = now;
  ++in_setup_;
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  Session* p = s.get();
  sessions_.push_back(std::move(s));
  if (p->fd < 0) return Finish(p, absl::StrCat("socket: ", std::strerror(errno)), now);
  int one = 1;
  (void)setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (!o_.sources.empty()) {
    const sockaddr_in& src = o_.sources[p->index % o_.sources.size()];
    if (bind(p->fd, reinterpret_cast<const sockaddr*>(&src), sizeof(src)) != 0)
      return Finish(p, absl::StrCat("bind: ", std::strerror(errno)), now);
  }
  epoll_event e{};
  e.events = EPOLLOUT;
  e.data.ptr = p;
  if (epoll_ctl(ep_, EPOLL_CTL_ADD, p->fd, &e) != 0)
    return Finish(p, absl::StrCat("epoll: ", std::strerror(errno)), now);
  if (connect(p->fd, reinterpret_cast<const sockaddr*>(&server_), sizeof(server_)) != 0 &&
      errno != EINPROGRESS)
    return Finish(p, absl::StrCat("connect: ", std::strerror(errno)), now);
}

void LoadGen::Finish(Session* s, const std::string& reason, absl::Time now) {
  (void)now;
  if (!s->failure.empty()) return;
  s->failure = reason.empty() ? "closed" : reason;
  if (s->established) {
    --live_connected_;
  } else {
    --in_setup_;
    ++failed_;
    ++reasons_[s->failure];
  }
  if (s->fd >= 0) {
    (void)epoll_ctl(ep_, EPOLL_CTL_DEL, s->fd, nullptr);
    if (s->tls) s->tls->Shutdown();
    close(s->fd);
    s->fd = -1;
  }
}

void LoadGen::Flush(Session* s) {
  s->tls_wait = client::IoWait::kNone;
  while (s->out_pos < s->out.size()) {
    auto r =
        s->tls->Write(absl::MakeConstSpan(s->out.data() + s->out_pos, s->out.size() - s->out_pos));
    if (!r.ok()) {
      s->engine->OnTransportClosed(absl::Now(), std::string(r.status().message()));
      s->out.clear();
      s->out_pos = 0;
      return;
    }
    if (r->bytes == 0) {
      s->tls_wait = r->wait;
      return;
    }
    s->out_pos += r->bytes;
  }
  s->out.clear();
  s->out_pos = 0;
}

void LoadGen::MarkEstablished(Session* s, absl::Time now) {
  s->established = true;
  --in_setup_;
  ++established_;
  ++live_connected_;
  peak_ = std::max(peak_, live_connected_);
  latencies_ms_.push_back(absl::ToDoubleMilliseconds(now - s->started));
  first_established_ = std::min(first_established_, now);
  last_established_ = std::max(last_established_, now);
}

void LoadGen::Progress(Session* s, absl::Time now) {
  Flush(s);
  if (s->reached_connected && !s->established) MarkEstablished(s, now);
  if (s->engine->closed()) {
    if (s->established && !disconnecting_) ++dropped_;
    return Finish(s, s->engine->close_reason(), now);
  }
  Rearm(s);
}

void LoadGen::OnEvent(Session* s, uint32_t events, absl::Time now) {
  if (s->stage == Stage::kConnecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    (void)getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Finish(s, absl::StrCat("connect: ", std::strerror(err)), now);
    if (events & (EPOLLERR | EPOLLHUP)) return Finish(s, "connect: hung up", now);
    if (!(events & EPOLLOUT)) return;
    auto t = client::TlsConnection::Create(*ctx_, s->fd, o_.host);
    if (!t.ok()) return Finish(s, std::string(t.status().message()), now);
    s->tls = std::move(*t);
    s->stage = Stage::kTls;
  }
  if (s->stage == Stage::kTls) {
    auto r = s->tls->Handshake();
    if (!r.ok()) return Finish(s, absl::StrCat("TLS: ", r.status().message()), now);
    if (*r != client::IoWait::kNone) {
      s->tls_wait = *r;
      return Rearm(s);
    }
    if (o_.tls_only) {
      MarkEstablished(s, now);
      return Finish(s, "", now);
    }
    client::EngineConfig ec;
    ec.host = o_.host;
    ec.user = absl::StrReplaceAll(o_.user, {{"%d", absl::StrCat(s->index)}});
    ec.password = o_.password;
    ec.ipv6 = o_.ipv6;
    std::copy(s->tls->peer_cert_sha1().begin(), s->tls->peer_cert_sha1().end(),
              ec.cert_sha1.begin());
    ec.cert_sha256 = s->tls->peer_cert_sha256();
    ec.random = [](absl::Span<uint8_t> b) {
      (void)RAND_bytes(b.data(), static_cast<int>(b.size()));
    };
    s->engine = std::make_unique<client::Engine>(std::move(ec), s);
    s->stage = Stage::kSession;
    s->tls_wait = client::IoWait::kNone;
    s->engine->Start(now);
    return Progress(s, now);
  }
  // Session: read everything the socket has, hand it to the engine.
  for (int i = 0; i < 16 && !s->engine->closed(); ++i) {
    auto r = s->tls->Read(absl::MakeSpan(in_));
    if (!r.ok()) {
      s->engine->OnTransportClosed(now, std::string(r.status().message()));
      break;
    }
    if (r->eof) {
      s->engine->OnTransportClosed(now, "the server closed the connection");
      break;
    }
    if (r->bytes == 0) break;
    s->engine->OnServerBytes(now, absl::MakeConstSpan(in_.data(), r->bytes));
  }
  Progress(s, now);
}

std::string JsonString(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      o += ' ';
    } else {
      o += c;
    }
  }
  return o + "\"";
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void LoadGen::Print(absl::Time t0, absl::Time end) {
  // The generator's own CPU (user + system): on a shared box it tells whether the client side,
  // not the server, was the limit.
  rusage ru{};
  (void)getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  double span = established_ > 0 ? absl::ToDoubleSeconds(last_established_ - t0) : 0;
  std::string r = "{";
  for (const auto& [k, n] : reasons_) {
    if (r.size() > 1) r += ", ";
    absl::StrAppend(&r, JsonString(k), ": ", n);
  }
  r += "}";
  std::printf(
      "{\"mode\": \"%s\", \"server\": %s, \"port\": %d, \"rate_requested_per_s\": %.1f, "
      "\"sessions_attempted\": %d, "
      "\"sessions_established\": %d, \"sessions_failed\": %d, \"failure_reasons\": %s, "
      "\"dropped_after_established\": %d, \"setup_rate_per_s\": %.1f, \"setup_latency_ms\": "
      "{\"p50\": %.1f, \"p99\": %.1f, \"max\": %.1f}, \"peak_concurrent_sessions\": %d, "
      "\"run_seconds\": %.2f, \"generator_cpu_seconds\": %.2f}\n",
      o_.tls_only ? "tls-only" : "sstp", JsonString(o_.host).c_str(), o_.port, o_.rate, started_,
      established_, failed_, r.c_str(), dropped_, span > 0 ? established_ / span : 0.0,
      Percentile(latencies_ms_, 0.5), Percentile(latencies_ms_, 0.99),
      Percentile(latencies_ms_, 1.0), peak_, absl::ToDoubleSeconds(end - t0), cpu);
}

int LoadGen::Run() {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(o_.host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    std::fprintf(stderr, "cannot resolve %s\n", o_.host.c_str());
    return 1;
  }
  server_ = *reinterpret_cast<sockaddr_in*>(res->ai_addr);
  server_.sin_port = htons(static_cast<uint16_t>(o_.port));
  freeaddrinfo(res);
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) return 1;

  const absl::Time t0 = absl::Now();
  const absl::Time stop = t0 + absl::Seconds(o_.duration);
  absl::Time hard_end = absl::InfiniteFuture();
  std::vector<epoll_event> evs(256);
  for (;;) {
    absl::Time now = absl::Now();
    // New sessions on schedule (index / rate seconds after t0).
    while (started_ < o_.sessions &&
           (o_.rate == 0 || now >= t0 + absl::Seconds(started_ / o_.rate)))
      StartSession(now);
    // Timers and setup timeouts.
    for (auto& s : sessions_) {
      if (!s || !s->failure.empty()) continue;
      if (!s->established && now - s->started > absl::Seconds(o_.setup_timeout)) {
        Finish(s.get(), "setup timeout", now);
        continue;
      }
      if (s->engine && now >= s->engine->next_deadline()) {
        s->engine->OnTimer(now);
        Progress(s.get(), now);
      }
    }
    // Drop finished sessions from the list.
    sessions_.erase(std::remove_if(sessions_.begin(), sessions_.end(),
                                   [](const auto& s) { return !s->failure.empty(); }),
                    sessions_.end());
    const bool all_started = started_ >= o_.sessions;
    if (!disconnecting_ && all_started && (in_setup_ == 0 && now >= stop)) {
      // Orderly end: LCP Terminate and CALL_DISCONNECT, then wait a little for the server.
      disconnecting_ = true;
      hard_end = now + absl::Seconds(3);
      for (auto& s : sessions_) {
        if (!s->engine) continue;
        s->engine->Disconnect(now, "load generator done");
        Progress(s.get(), now);
      }
    }
    if (disconnecting_ && (sessions_.empty() || now >= hard_end)) break;
    int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 5);
    now = absl::Now();
    for (int i = 0; i < n; ++i) {
      auto* s = static_cast<Session*>(evs[i].data.ptr);
      if (s->failure.empty()) OnEvent(s, evs[i].events, now);
    }
  }
  absl::Time end = absl::Now();
  for (auto& s : sessions_) Finish(s.get(), "", end);
  Print(t0, end);
  close(ep_);
  return established_ > 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseOptions(argc, argv, o)) {
    Usage();
    return 1;
  }
  client::TlsClientConfig tc;
  tc.verify_server = o.verify_server;
  tc.ca_file = o.ca_file;
  tc.server_name = o.host;
  auto ctx = client::TlsClientContext::Create(tc);
  if (!ctx.ok()) {
    std::fprintf(stderr, "TLS: %s\n", std::string(ctx.status().message()).c_str());
    return 1;
  }
  LoadGen g(std::move(o), ctx->get());
  return g.Run();
}
