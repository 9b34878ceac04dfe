#include "dataplane/tls_service.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "dataplane/config.h"
#include "dataplane/net.h"
#include "dataplane/services.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/tls_conn.h"
#include "tls/context.h"
#include "tls/handshake.h"
#include "tls/lcore_crypto.h"
#include "tls/record.h"
#include "tls/segments.h"

namespace dp::tlssvc {
namespace {

using tcp::CloseReason;
using tcp::Conn;
using tcp::Stack;

void Log(const std::string& s) { fprintf(stderr, "sstp-dataplane: tls: %s\n", s.c_str()); }

std::string Ip(uint32_t a) { return FormatIpv4(a); }

enum class Role : uint8_t { kEcho, kHttp, kClient };

constexpr size_t kMaxHttpRequest = 4096;
constexpr size_t kDefaultHttpBytes = 1 << 20;

// Per connection. The RecordSession is 64-byte aligned (operator new honours alignas).
struct TConn {
  TlsConn tls;  // TCP connection, handshake, record layer, rx and backlog (tls_conn.h)
  Role role = Role::kEcho;
  std::string peer;
  bool want_fin = false;  // close the TCP connection once the backlog is sent
  bool fin_sent = false;
  bool close_notify_received = false;
  std::string request;             // kHttp: the request so far
  uint64_t to_send = 0, sent = 0;  // kHttp body / kClient stream
  bool sending = false;
  uint64_t plain_in = 0, plain_out = 0;
  absl::Time t_established;
  std::string cipher;
};

class Lcore : public tcp::Handler {
 public:
  Lcore(Worker* w, const TlsServiceOptions& opts) : w_(w), opts_(opts) {}
  ~Lcore() override = default;

  void Start();
  void Stop();
  // Handshake deadlines (tls::Handshake::deadline), checked every 100 ms.
  void Poll(uint64_t now_ns);

  bool OnAccept(Conn* c) override;
  void OnConnected(Conn* c) override;
  void OnData(Conn* c, rte_mbuf* data) override;
  void OnWritable(Conn* c) override;
  void OnPeerClosed(Conn* c) override;
  void OnClosed(Conn* c, CloseReason why) override;

 private:
  void Handshake(TConn* t, rte_mbuf* data);
  void Process(TConn* t);
  void OnPlaintext(TConn* t, const tls::SegmentList& pieces, size_t len);
  void Pump(TConn* t);
  // Queues a chain for sending behind the backlog; false when it had to wait.
  bool Queue(TConn* t, rte_mbuf* m);
  void SendRaw(TConn* t, absl::Span<const uint8_t> bytes);
  void FlushPending(TConn* t);
  void Finish(TConn* t);  // FIN once everything queued is out
  // A record of `len` payload bytes: a fresh chain with header room, payload written by `fill`
  // (called per piece with its stream offset), trailer room; sealed. nullptr on mbuf shortage.
  template <typename Fill>
  rte_mbuf* BuildRecord(TConn* t, size_t len, Fill fill);
  tls::TlsContext* ContextFor(bool require_client_cert) {
    return require_client_cert ? server_req_.get() : server_.get();
  }

  Worker* w_;
  const TlsServiceOptions& opts_;
  std::unique_ptr<tls::LcoreCrypto> crypto_;
  std::unique_ptr<tls::TlsContext> server_, server_req_, client_;
  std::vector<uint16_t> listening_;
  std::vector<TConn*> handshaking_;  // connections still in the slow path
  uint64_t next_poll_ns_ = 0;
  TlsLcore tl_;  // what this lcore's TLS connections share (tls_conn.h)
  std::vector<absl::Span<uint8_t>> out_segs_;
};

void Lcore::Start() {
  auto crypto = tls::LcoreCrypto::Create();
  if (!crypto.ok()) {
    Log(absl::StrCat("worker ", w_->index, ": ", crypto.status().ToString()));
    return;
  }
  crypto_ = *std::move(crypto);
  tl_.Init(w_, crypto_.get());
  out_segs_.reserve(16);
  const absl::Time now = absl::Now();
  bool need_server = false, need_req = false;
  for (const TlsServiceConfig& s : opts_.services) {
    (s.require_client_certificate ? need_req : need_server) = true;
  }
  auto make_server = [&](bool req) -> std::unique_ptr<tls::TlsContext> {
    tls::TlsConfig tc;
    tc.role = tls::Role::kServer;
    tc.certificate_file = opts_.certificate_file;
    tc.private_key_file =
        opts_.private_key_file.empty() ? opts_.certificate_file : opts_.private_key_file;
    tc.ca_file = opts_.ca_file;
    tc.require_client_certificate = req;
    tc.max_concurrent_handshakes = 256;
    tc.handshake_timeout = absl::Seconds(opts_.handshake_timeout_s);
    auto ctx = tls::TlsContext::Create(*crypto_, tc, now);
    if (!ctx.ok()) {
      Log(absl::StrCat("server context: ", ctx.status().ToString()));
      return nullptr;
    }
    if (w_->index == 0) {
      for (const std::string& warn : (*ctx)->warnings()) Log(warn);
    }
    return *std::move(ctx);
  };
  if (need_server) server_ = make_server(false);
  if (need_req) server_req_ = make_server(true);
  if (!opts_.connects.empty()) {
    tls::TlsConfig tc;
    tc.role = tls::Role::kClient;
    tc.certificate_file = opts_.certificate_file;
    tc.private_key_file =
        opts_.private_key_file.empty() ? opts_.certificate_file : opts_.private_key_file;
    tc.ca_file = opts_.ca_file;
    tc.server_name = opts_.server_name;
    tc.verify_server_certificate = !opts_.insecure;
    tc.verify_hostname = !opts_.insecure && !opts_.server_name.empty();
    tc.handshake_timeout = absl::Seconds(opts_.handshake_timeout_s);
    auto ctx = tls::TlsContext::Create(*crypto_, tc, now);
    if (!ctx.ok()) {
      Log(absl::StrCat("client context: ", ctx.status().ToString()));
    } else {
      client_ = *std::move(ctx);
      if (opts_.insecure && w_->index == 0) {
        Log("--tls-insecure: the server's certificate is NOT verified");
      }
    }
  }
  for (const TlsServiceConfig& s : opts_.services) {
    if (ContextFor(s.require_client_certificate) == nullptr) continue;
    absl::Status st = w_->tcp->Listen(0, s.port, this, const_cast<TlsServiceConfig*>(&s));
    if (!st.ok()) {
      Log(absl::StrCat("listen on port ", s.port, ": ", st.ToString()));
      continue;
    }
    listening_.push_back(s.port);
    if (w_->index == 0) {
      Log(absl::StrCat(s.mode == TlsServiceConfig::kEcho ? "echo" : "http", " on port ", s.port,
                       s.require_client_certificate ? " (client certificate required)" : ""));
    }
  }
  if (client_ == nullptr) return;
  for (size_t i = 0; i < opts_.connects.size(); ++i) {
    if (i % w_->net->n_workers != w_->index) continue;
    const TlsConnectConfig& cc = opts_.connects[i];
    const NextHop* nh = w_->net->fib->Lookup(cc.remote_addr);
    if (nh == nullptr) {
      Log(absl::StrCat("connect ", Ip(cc.remote_addr), ": no route"));
      continue;
    }
    const Port& port = w_->net->ports[nh->port];
    uint32_t via = nh->gateway ? nh->gateway : cc.remote_addr;
    uint32_t src = port.PrimaryAddress();
    for (uint16_t a = 0; a < port.n_addrs; ++a) {
      if (port.addrs[a].Contains(via)) src = port.addrs[a].addr;
    }
    // A source port whose tuple hashes to this worker, so the replies come back here.
    uint16_t sport = 0;
    for (uint32_t p = 45000 + static_cast<uint32_t>(i) * 7; p < 65000; ++p) {
      if (TupleOwner(*w_->net, cc.remote_addr, src, cc.remote_port, static_cast<uint16_t>(p)) ==
          w_->index) {
        sport = static_cast<uint16_t>(p);
        break;
      }
    }
    auto hs = tls::Handshake::Create(*client_, now);
    if (!hs.ok()) {
      Log(absl::StrCat("connect: ", hs.status().ToString()));
      continue;
    }
    auto* t = new TConn;
    t->role = Role::kClient;
    t->tls.hs = *std::move(hs);
    t->to_send = cc.bytes;
    t->peer = absl::StrCat(Ip(cc.remote_addr), ":", cc.remote_port);
    absl::StatusOr<Conn*> c =
        w_->tcp->Connect(src, sport, cc.remote_addr, cc.remote_port, this, t, w_->now_ns);
    if (!c.ok()) {
      Log(absl::StrCat("connect ", t->peer, ": ", c.status().ToString()));
      delete t;
      continue;
    }
    t->tls.conn = *c;
    handshaking_.push_back(t);
  }
}

void Lcore::Poll(uint64_t now_ns) {
  if (now_ns < next_poll_ns_) return;
  next_poll_ns_ = now_ns + 100'000'000;
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < handshaking_.size(); ++i) {
    TConn* t = handshaking_[i];
    if (t->tls.hs == nullptr || now < t->tls.hs->deadline()) continue;
    t->tls.hs->OnTimer(now);
    if (t->tls.hs->state() != tls::HandshakeState::kFailed) continue;
    t->tls.SendHandshakeOutput(tl_);
    Log(absl::StrCat(t->peer, ": handshake failed: ", t->tls.hs->error().ToString()));
    t->tls.hs.reset();
    Finish(t);
  }
  std::erase_if(handshaking_, [](TConn* t) { return t->tls.hs == nullptr; });
}

void Lcore::Stop() {
  for (uint16_t p : listening_) (void)w_->tcp->Unlisten(0, p);
  listening_.clear();
}

bool Lcore::OnAccept(Conn* c) {
  auto* sc = static_cast<const TlsServiceConfig*>(w_->tcp->GetListenerUser(c));
  tls::TlsContext* ctx = sc ? ContextFor(sc->require_client_certificate) : nullptr;
  if (ctx == nullptr) return false;
  auto hs = tls::Handshake::Create(*ctx, absl::Now());
  if (!hs.ok()) {
    Log(absl::StrCat("refusing a connection: ", hs.status().ToString()));
    return false;
  }
  auto* t = new TConn;
  t->tls.conn = c;
  t->role = sc->mode == TlsServiceConfig::kEcho ? Role::kEcho : Role::kHttp;
  t->tls.hs = *std::move(hs);
  tcp::Tuple tu = Stack::GetTuple(c);
  t->peer = absl::StrCat(Ip(tu.remote_ip), ":", tu.remote_port);
  Stack::SetUser(c, t);
  handshaking_.push_back(t);
  return true;
}

void Lcore::OnConnected(Conn* c) {
  auto* t = static_cast<TConn*>(Stack::GetUser(c));
  if (t == nullptr || t->tls.hs == nullptr) return;
  t->tls.SendHandshakeOutput(tl_);  // the ClientHello
}

void Lcore::OnData(Conn* c, rte_mbuf* data) {
  auto* t = static_cast<TConn*>(Stack::GetUser(c));
  if (t == nullptr || t->fin_sent || t->want_fin) {
    w_->tcp->Consumed(c, rte_pktmbuf_pkt_len(data), w_->now_ns);
    rte_pktmbuf_free(data);
    return;
  }
  if (!t->tls.established) {
    w_->tcp->Consumed(c, rte_pktmbuf_pkt_len(data), w_->now_ns);
    Handshake(t, data);
    return;
  }
  // Consumed() only once the record is opened and its echo queued: the window throttles the peer.
  if (!t->tls.Append(data)) {
    rte_pktmbuf_free(data);
    Log(absl::StrCat(t->peer, ": receive queue too fragmented; aborting"));
    w_->tcp->Abort(c, w_->now_ns);
    return;
  }
  Process(t);
}

void Lcore::Handshake(TConn* t, rte_mbuf* data) {
  tls::Handover ho;
  std::string error;
  switch (t->tls.Handshake(tl_, data, &ho, &error)) {
    case TlsConn::Step::kInProgress:
      return;
    case TlsConn::Step::kFailed:
      Log(absl::StrCat(t->peer, ": handshake failed: ", error));
      Finish(t);
      return;
    case TlsConn::Step::kEstablished:
      break;
  }
  t->t_established = absl::Now();
  t->cipher = absl::StrCat(t->tls.rec.version() == tls::Version::kTls13 ? "TLSv1.3" : "TLSv1.2",
                           " ", ho.cipher_name);
  Log(absl::StrCat(t->peer, ": established ", t->cipher,
                   ho.peer_certificate ? absl::StrCat(", peer certificate ", ho.peer_subject)
                                       : std::string(", no peer certificate")));
  if (t->role == Role::kClient) {
    t->sending = true;
    Pump(t);
  }
  Process(t);
}

void Lcore::Process(TConn* t) {
  if (!t->want_fin && !t->fin_sent) {
    t->tls.Open(tl_, TlsRxPolicy::kConsumeWhenOpened,
                [&](const tls::OpenResult& r, const tls::SegmentList& pieces) {
                  if (r.status == tls::OpenStatus::kData) {
                    t->plain_in += r.data_len;
                    OnPlaintext(t, pieces, r.data_len);
                    return !t->want_fin && !t->fin_sent;
                  }
                  if (r.status == tls::OpenStatus::kCloseNotify) {
                    t->close_notify_received = true;
                  } else {
                    Log(absl::StrCat(t->peer, ": TLS ",
                                     r.status == tls::OpenStatus::kPeerAlert ? "alert from the peer"
                                                                             : "record error",
                                     " (", tls::AlertName(r.alert), ")"));
                  }
                  // Our close_notify or fatal alert went out with it (tls_conn.h).
                  t->sending = false;
                  Finish(t);
                  return false;
                });
  }
  FlushPending(t);
}

void Lcore::OnPlaintext(TConn* t, const tls::SegmentList& pieces, size_t len) {
  if (t->role == Role::kEcho) {
    if (len == 0) return;
    size_t pi = 0, po = 0;  // piece index, offset in the piece
    rte_mbuf* m = BuildRecord(t, len, [&](uint8_t* dst, size_t n) {
      while (n > 0) {
        size_t k = std::min(n, pieces[pi].size() - po);
        memcpy(dst, pieces[pi].data() + po, k);
        dst += k;
        n -= k;
        po += k;
        if (po == pieces[pi].size()) {
          ++pi;
          po = 0;
        }
      }
    });
    if (m == nullptr) return;
    t->plain_out += len;
    Queue(t, m);
    return;
  }
  if (t->role == Role::kHttp && !t->sending && t->to_send == 0) {
    for (absl::Span<uint8_t> p : pieces) {
      t->request.append(reinterpret_cast<const char*>(p.data()), p.size());
    }
    size_t end = t->request.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (t->request.size() > kMaxHttpRequest) {
        Log(absl::StrCat(t->peer, ": HTTP request too long"));
        t->tls.rec.Close();
        FlushPending(t);
        Finish(t);
      }
      return;
    }
    // "GET /N HTTP/1.x": N bytes of the chargen stream.
    uint64_t n = kDefaultHttpBytes;
    const std::string line = t->request.substr(0, t->request.find("\r\n"));
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ');
    if (words.size() >= 2 && absl::StartsWith(words[1], "/") && words[1].size() > 1) {
      uint64_t v;
      if (absl::SimpleAtoi(words[1].substr(1), &v)) n = v;
    }
    std::string head = absl::StrCat("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n",
                                    "Content-Length: ", n, "\r\nConnection: close\r\n\r\n");
    rte_mbuf* m = BuildRecord(t, head.size(), [&](uint8_t* dst, size_t k) {
      memcpy(dst, head.data(), k);
      head.erase(0, k);
    });
    if (m == nullptr) return;
    Queue(t, m);
    t->to_send = n;
    t->sending = true;
    Pump(t);
  }
  // The client role discards what the server sends.
}

template <typename Fill>
rte_mbuf* Lcore::BuildRecord(TConn* t, size_t len, Fill fill) {
  const size_t hl = t->tls.rec.header_len(), tl = t->tls.rec.trailer_len();
  rte_mbuf* head = nullptr;
  rte_mbuf* tail = nullptr;
  size_t need = hl + len + tl, payload_done = 0, pos = 0;
  out_segs_.clear();
  while (pos < need) {
    rte_mbuf* m = rte_pktmbuf_alloc(w_->net->pool);
    if (m == nullptr) {
      ++w_->c.mbuf_alloc_failed;
      rte_pktmbuf_free(head);
      return nullptr;
    }
    if (head == nullptr) {
      head = m;
    } else {
      tail->next = m;
      ++head->nb_segs;
    }
    tail = m;
    size_t k = std::min<size_t>(need - pos, rte_pktmbuf_tailroom(m));
    uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_mtod(m, uint8_t*));
    m->data_len = static_cast<uint16_t>(k);
    head->pkt_len += static_cast<uint32_t>(k);
    // Payload bytes of this buffer: the overlap of [pos, pos + k) with [hl, hl + len).
    size_t a = std::max(pos, hl), b = std::min(pos + k, hl + len);
    if (b > a) {
      fill(p + (a - pos), b - a);
      payload_done += b - a;
    }
    out_segs_.push_back({p, k});
    pos += k;
  }
  absl::Status s =
      t->tls.rec.Seal(*crypto_, tls::ContentType::kApplicationData, absl::MakeConstSpan(out_segs_));
  if (!s.ok()) {
    Log(absl::StrCat(t->peer, ": seal: ", s.ToString()));
    rte_pktmbuf_free(head);
    return nullptr;
  }
  return head;
}

bool Lcore::Queue(TConn* t, rte_mbuf* m) { return t->tls.Queue(tl_, m); }

void Lcore::SendRaw(TConn* t, absl::Span<const uint8_t> bytes) { t->tls.SendCopy(tl_, bytes); }

void Lcore::FlushPending(TConn* t) { t->tls.FlushPending(tl_); }

void Lcore::Pump(TConn* t) {
  while (t->sending && t->tls.backlog.empty() && t->sent < t->to_send) {
    size_t len = static_cast<size_t>(std::min<uint64_t>(t->to_send - t->sent, tls::kMaxPlaintext));
    uint64_t off = t->sent;
    rte_mbuf* m = BuildRecord(t, len, [&](uint8_t* dst, size_t k) {
      for (size_t i = 0; i < k; ++i) dst[i] = ChargenByte(off + i);
      off += k;
    });
    if (m == nullptr) return;  // out of mbufs: retried on the next OnWritable
    t->sent += len;
    t->plain_out += len;
    Queue(t, m);
  }
  if (t->sending && t->sent == t->to_send) {
    // Everything sent: close_notify (RFC 8446 6.1), then FIN.
    t->sending = false;
    t->tls.rec.Close();
    FlushPending(t);
    Finish(t);
  }
}

void Lcore::Finish(TConn* t) {
  t->want_fin = true;
  if (t->tls.backlog.empty() && !t->fin_sent) {
    t->fin_sent = true;
    w_->tcp->Close(t->tls.conn, w_->now_ns);
  }
}

void Lcore::OnWritable(Conn* c) {
  auto* t = static_cast<TConn*>(Stack::GetUser(c));
  if (t == nullptr) return;
  if (!t->tls.FlushBacklog(tl_)) return;
  if (t->want_fin) {
    Finish(t);
    return;
  }
  if (t->tls.established) {
    Pump(t);
    Process(t);
  }
}

void Lcore::OnPeerClosed(Conn* c) {
  auto* t = static_cast<TConn*>(Stack::GetUser(c));
  if (t == nullptr) {
    w_->tcp->Close(c, w_->now_ns);
    return;
  }
  if (t->role == Role::kClient && t->sending) return;  // keep sending; the peer only half-closed
  if (!t->close_notify_received && t->tls.established && t->role != Role::kClient) {
    Log(absl::StrCat(t->peer, ": FIN without close_notify"));
  }
  t->sending = false;
  Finish(t);
}

void Lcore::OnClosed(Conn* c, CloseReason why) {
  auto* t = static_cast<TConn*>(Stack::GetUser(c));
  Stack::SetUser(c, nullptr);
  if (t == nullptr) return;
  std::erase(handshaking_, t);
  if (t->tls.established) {
    double secs = absl::ToDoubleSeconds(absl::Now() - t->t_established);
    double mbps = secs > 0 ? static_cast<double>(t->plain_in + t->plain_out) * 8 / secs / 1e6 : 0;
    Log(absl::StrCat(t->peer, ": closed (", tcp::CloseReasonName(why), ") ", t->cipher, ", ",
                     t->plain_in, " plaintext bytes in, ", t->plain_out, " out",
                     t->role == Role::kClient
                         ? absl::StrCat(", client sent ", t->sent, " of ", t->to_send)
                         : std::string(),
                     t->close_notify_received ? ", close_notify received" : "", ", ",
                     absl::StrFormat("%.3f s, %.0f Mbit/s", secs, mbps), ", ", t->tls.records_in,
                     " records in (", t->tls.records_spanning, " over several mbufs), ",
                     t->tls.send_waits, " waits for send space"));
  } else {
    Log(absl::StrCat(t->peer, ": closed (", tcp::CloseReasonName(why), ") before the handover"));
  }
  t->tls.conn = nullptr;
  delete t;  // frees what it still held (TlsConn)
}

}  // namespace

class TlsServices {
 public:
  TlsServices(Net* net, const TlsServiceOptions& opts) : net_(net), opts_(opts) {}
  ~TlsServices() {
    for (Lcore* l : lcores_) delete l;
  }
  void Install() {
    prev_ = net_->hooks;
    lcores_.assign(net_->n_workers, nullptr);
    net_->hooks.ctx = this;
    net_->hooks.worker_start = [](Worker* w, void* ctx) {
      auto* s = static_cast<TlsServices*>(ctx);
      if (s->prev_.worker_start) s->prev_.worker_start(w, s->prev_.ctx);
      if (w->tcp == nullptr) return;
      s->lcores_[w->index] = new Lcore(w, s->opts_);
      s->lcores_[w->index]->Start();
    };
    net_->hooks.worker_stop = [](Worker* w, void* ctx) {
      auto* s = static_cast<TlsServices*>(ctx);
      if (s->lcores_[w->index] != nullptr) s->lcores_[w->index]->Stop();
      if (s->prev_.worker_stop) s->prev_.worker_stop(w, s->prev_.ctx);
    };
    net_->hooks.worker_poll = [](Worker* w, uint64_t now, void* ctx) {
      auto* s = static_cast<TlsServices*>(ctx);
      if (s->prev_.worker_poll != nullptr) s->prev_.worker_poll(w, now, s->prev_.ctx);
      if (s->lcores_[w->index] != nullptr) s->lcores_[w->index]->Poll(now);
    };
    net_->hooks.session_output = nullptr;
    if (prev_.session_output != nullptr) {
      net_->hooks.session_output = [](Worker* w, rte_mbuf* m, uint32_t session, void* ctx) {
        auto* s = static_cast<TlsServices*>(ctx);
        s->prev_.session_output(w, m, session, s->prev_.ctx);
      };
    }
  }

 private:
  Net* net_;
  TlsServiceOptions opts_;
  Hooks prev_;
  // Freed only here, after the workers' TCP stacks (and their OnClosed calls) are gone.
  std::vector<Lcore*> lcores_;
};

void TlsServicesDeleter::operator()(TlsServices* s) const { delete s; }

absl::StatusOr<TlsServicesHandle> StartTlsServices(Net* net, const TlsServiceOptions& options) {
  if (options.empty()) return TlsServicesHandle();
  if (!options.services.empty() && options.certificate_file.empty()) {
    return absl::InvalidArgumentError("--tls-echo/--tls-http need --tls-cert (and --tls-key)");
  }
  TlsServicesHandle h(new TlsServices(net, options));
  h->Install();
  return h;
}

std::string TlsUsage() {
  return "TLS test services (userspace TCP + tls/ record layer):\n"
         "  --tls-echo PORT[,client-cert=required]  TLS echo service\n"
         "  --tls-http PORT[,client-cert=required]  'GET /N' -> N bytes of chargen over TLS\n"
         "  --tls-connect A.B.C.D:PORT,bytes=N      client role: send N chargen bytes over TLS\n"
         "  --tls-cert FILE --tls-key FILE          identity (PEM)\n"
         "  --tls-ca FILE                           client certificates' CA / server's CA\n"
         "  --tls-server-name NAME                  client role: SNI and hostname check\n"
         "  --tls-handshake-timeout SECONDS         slow path bound per handshake (30)\n"
         "  --tls-insecure                          client role: do not verify the server\n";
}

absl::StatusOr<TlsServiceOptions> ExtractTlsArgs(std::vector<std::string>* args) {
  TlsServiceOptions o;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args->size(); ++i) {
    const std::string& a = (*args)[i];
    if (!absl::StartsWith(a, "--tls-")) {
      rest.push_back(a);
      continue;
    }
    if (a == "--tls-insecure") {
      o.insecure = true;
      continue;
    }
    if (i + 1 >= args->size()) return absl::InvalidArgumentError(absl::StrCat(a, " needs a value"));
    const std::string& v = (*args)[++i];
    if (a == "--tls-cert") {
      o.certificate_file = v;
    } else if (a == "--tls-key") {
      o.private_key_file = v;
    } else if (a == "--tls-ca") {
      o.ca_file = v;
    } else if (a == "--tls-handshake-timeout") {
      if (!absl::SimpleAtoi(v, &o.handshake_timeout_s) || o.handshake_timeout_s == 0) {
        return absl::InvalidArgumentError(absl::StrCat(a, ": want seconds > 0, got '", v, "'"));
      }
    } else if (a == "--tls-server-name") {
      o.server_name = v;
    } else if (a == "--tls-echo" || a == "--tls-http") {
      TlsServiceConfig s;
      s.mode = a == "--tls-echo" ? TlsServiceConfig::kEcho : TlsServiceConfig::kHttp;
      std::vector<std::string> parts = absl::StrSplit(v, ',');
      uint32_t port;
      if (!absl::SimpleAtoi(parts[0], &port) || port == 0 || port > 65535) {
        return absl::InvalidArgumentError(absl::StrCat(a, ": bad port '", parts[0], "'"));
      }
      s.port = static_cast<uint16_t>(port);
      for (size_t k = 1; k < parts.size(); ++k) {
        if (parts[k] == "client-cert=required") {
          s.require_client_certificate = true;
        } else {
          return absl::InvalidArgumentError(absl::StrCat(a, ": unknown option '", parts[k], "'"));
        }
      }
      o.services.push_back(s);
    } else if (a == "--tls-connect") {
      // A.B.C.D:PORT,bytes=N
      TlsConnectConfig cc;
      std::vector<std::string> parts = absl::StrSplit(v, ',');
      std::vector<std::string> hp = absl::StrSplit(parts[0], ':');
      uint32_t port = 0;
      absl::StatusOr<uint32_t> addr = absl::InvalidArgumentError("want A.B.C.D:PORT");
      if (hp.size() == 2) addr = ParseIpv4(hp[0]);
      if (!addr.ok() || !absl::SimpleAtoi(hp[1], &port) || port == 0 || port > 65535) {
        return absl::InvalidArgumentError(absl::StrCat(a, ": bad address '", parts[0], "'"));
      }
      cc.remote_addr = *addr;
      cc.remote_port = static_cast<uint16_t>(port);
      for (size_t k = 1; k < parts.size(); ++k) {
        if (!absl::StartsWith(parts[k], "bytes=") ||
            !absl::SimpleAtoi(parts[k].substr(6), &cc.bytes)) {
          return absl::InvalidArgumentError(absl::StrCat(a, ": bad option '", parts[k], "'"));
        }
      }
      o.connects.push_back(cc);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", a));
    }
  }
  *args = std::move(rest);
  return o;
}

}  // namespace dp::tlssvc
