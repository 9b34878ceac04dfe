#include "dataplane/sstp/server.h"

#include <netinet/in.h>
#include <openssl/rand.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "dataplane/dataplane.h"
#include "dataplane/net.h"
#include "dataplane/sstp/bridge.h"
#include "dataplane/sstp/mss.h"
#include "dataplane/sstp/rate.h"
#include "dataplane/tls_conn.h"
#include "ppp/bcp.h"
#include "ring/messages.h"
#include "ring/ring.h"
#include "sstp/crypto_binding.h"
#include "sstp/http.h"
#include "sstp/packet.h"
#include "sstp/state_machine.h"
#include "tls/context.h"
#include "tls/handshake.h"
#include "tls/key_schedule.h"
#include "tls/lcore_crypto.h"
#include "tls/record.h"
#include "tls/segments.h"

namespace dp {
namespace srv {
class Server;

namespace {

using tcp::Conn;
using tcp::Stack;

template <typename... Args>
void Log(const absl::FormatSpec<Args...>& fmt, const Args&... args) {
  std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  fprintf(stderr, "%s sstp-dataplane: %s\n", ts.c_str(), absl::StrFormat(fmt, args...).c_str());
}

constexpr uint16_t kPppIpv4 = 0x0021;
constexpr size_t kPppDataHeader = 4;      // FF 03 00 21: address/control always sent (RFC 1661 6.6)
constexpr uint16_t kPppBridged = 0x0031;  // RFC 3518 4.3: bridged LAN traffic
// FF 03 00 31 + the bridged-frame header (no LAN FCS, Ethernet MAC type; RFC 3518 4.3).
constexpr size_t kPppBridgedHeader = 4 + ppp::kBridgedEthernetHeader.size();
// What a downstream mbuf carries (m->hash.usr while it waits in a session's down queue).
constexpr uint32_t kDownIpv4 = 0x21, kDownBridged = 0x31;
// The MAC table's "learned on the port" mark (frames between two port-side stations stay there).
constexpr uint32_t kOnPort = UINT32_MAX;
size_t PppHeaderOf(const rte_mbuf* m) {
  return m->hash.usr == kDownBridged ? kPppBridgedHeader : kPppDataHeader;
}
constexpr uint32_t kDownBudget = 256;  // ring records handled per worker per loop iteration
constexpr uint64_t kTimerPeriodNs = 10'000'000;
// Accepted connections waiting for a TLS handshake slot (TlsConfig::max_concurrent_handshakes),
// per lcore. A reconnection storm after an outage (every client dialling at once) is served in
// turn instead of being reset: a reset client backs off for seconds, a waiting one is served in
// milliseconds. Beyond this bound, and after kHandshakeWaitMax, connections are refused.
constexpr size_t kMaxHandshakeWaiting = 8192;
constexpr absl::Duration kHandshakeWaitMax = absl::Seconds(30);
constexpr uint64_t kCountersPeriodNs = 1'000'000'000;
constexpr uint64_t kStopGraceNs = 2'000'000'000;  // graceful stop: wait this long for the ACKs

std::string Ip(uint32_t a) { return FormatIpv4(a); }

class Lcore;

// The shared, rarely written part: the server configuration worker 0 receives from the control
// plane, published to the other workers through a generation counter.
struct SharedConfig {
  std::mutex mu;
  ring::ServerConfig cfg;
  std::atomic<uint64_t> gen{0};
};

// One SSTP call: TCP connection, TLS, HTTP, SSTP state machine, the PPP session's data state.
class Call final : public sstp::Sink {
 public:
  enum class Phase : uint8_t { kTls, kHttp, kSstp, kDone };

  Call(Lcore* lc, Conn* conn, uint32_t key, uint64_t id) : lc_(lc), key_(key), id_(id) {
    tls_.conn = conn;
  }
  ~Call() override;

  void SendSstp(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) override;
  void DeliverPpp(absl::Span<const uint8_t> frame) override;
  void OnEvent(const sstp::Event& event) override;

  Lcore* lc_;
  uint32_t key_;  // FIB session number (Worker-local)
  uint64_t id_;   // ring session id (owner in the top bits)
  Phase phase_ = Phase::kTls;
  // TCP connection, handshake, record layer, received bytes not yet opened, sealed records the
  // TCP stack refused (sent in order).
  TlsConn tls_;
  // Downstream packets (plain IPv4) waiting for outer TCP send space, oldest first. Sealing is
  // deferred until the record fits: a sealed record can never be dropped (its sequence number is
  // spent), a plain packet can. The ring is allocated once when the session comes up.
  std::unique_ptr<rte_mbuf*[]> dq_;
  uint32_t dq_cap_ = 0, dq_head_ = 0, dq_n_ = 0;
  // The profile's rate-limit (SessionUp.rate_rx_bps / rate_tx_bps): rx polices what the client
  // sends (upstream), tx what it is sent (downstream).
  TokenBucket rate_rx_, rate_tx_;
  int bridge_port_ = -1;  // BCP (SessionUp.bridge + bridge_port): the data-plane port, else -1
  sstp::HttpRequestParser http_;
  sstp::StreamAssembler assembler_;
  std::optional<sstp::ServerStateMachine> sm_;
  bool opened_sent_ = false;
  bool closed_sent_ = false;
  bool tcp_closing_ = false;
  bool want_abort_cp_absent_ = false;
  bool want_close_ = false;
  bool is_up_ = false;
  bool authorized_ = false;
  // sstpc 1.0.18 never sends CALL_CONNECTED after MD5-CHAP; see kSessionUp.
  bool synthetic_connected_ = false;
  sstp::Nonce nonce_{};
  sstp::HashField cert_hash_sha256_{};
  ring::SessionOpened opened_;
  ring::SessionAuthorized auth_;
  ring::SessionUp up_;
  uint64_t up_unix_ns_ = 0;
  ring::CounterBlock counters_;
  ring::CloseReason close_reason_ = ring::CloseReason::kUnknown;
  std::string close_detail_;
  std::string peer_;  // "a.b.c.d:port" for the log
  // Waiting for a handshake slot (Lcore::hs_waiting_): the ClientHello bytes received meanwhile
  // (already consumed from TCP's window; one flight at most) and when the wait began.
  rte_mbuf* hs_wait_rx_ = nullptr;
  absl::Time hs_wait_since_ = absl::InfinitePast();
};

class Lcore final : public tcp::Handler {
 public:
  Lcore(Server* srv, Worker* w) : srv_(srv), w_(w) {}
  ~Lcore() override;

  void Start();
  void Stop();
  void Poll(uint64_t now_ns);
  void SessionOutput(rte_mbuf* m, uint32_t key);

  // tcp::Handler
  bool OnAccept(Conn* c) override;
  void AdmitWaiting();
  void OnData(Conn* c, rte_mbuf* data) override;
  void OnWritable(Conn* c) override;
  void OnPeerClosed(Conn* c) override;
  void OnClosed(Conn* c, tcp::CloseReason why) override;

  // Used by Call.
  absl::Time Now() const { return absl::FromUnixNanos(int64_t(w_->now_ns)); }
  void SealAndQueue(Call* call, absl::Span<const uint8_t> a, absl::Span<const uint8_t> b);
  void PushUp(ring::MsgType type, uint64_t session, const ring::Message& body);
  void ForwardUp(Call* call, absl::Span<const uint8_t> frame);
  void AfterSm(Call* call);
  bool CpReady() const;

 private:
  friend class Call;
  void ApplyConfig();
  void StopListening();
  void HandleDown(const ring::Decoded& d);
  void HandleGlobal(const ring::Decoded& d);
  void OnTimers();
  void SendCounters();
  void DumpSessions(uint64_t epoch);
  void Handshake(Call* call, rte_mbuf* data);
  void ProcessRecords(Call* call);
  void OnPlaintext(Call* call, absl::Span<const uint8_t> bytes);
  void OnSstpPacket(Call* call, absl::Span<const uint8_t> packet);
  void FlushBacklog(Call* call);
  void SealDown(Call* call, rte_mbuf* m);
  void DeliverDown(Call* call, rte_mbuf* m);
  void AttachBridge(Call* call);
  void DetachBridge(Call* call);
  void BridgeUp(Call* call, absl::Span<const uint8_t> info);
  void BridgeFlood(rte_mbuf* m, uint16_t port, const Call* except, bool to_other_workers);

 public:
  void BridgeInput(rte_mbuf* m, uint16_t port, bool handed_off);
  bool BridgeOutput(rte_mbuf* m, uint16_t port);

 private:
  void DrainDown(Call* call);
  void DropDownQueue(Call* call);
  void CloseTransport(Call* call);
  void Finish(Call* call, const std::string& why);
  Call* Find(uint64_t session_id);
  void NoteAuthFailure(Call* call, absl::Span<const uint8_t> frame);

  Server* srv_;
  Worker* w_;
  std::unique_ptr<tls::LcoreCrypto> crypto_;
  std::unique_ptr<tls::TlsContext> tls_;
  std::vector<std::unique_ptr<tls::TlsContext>> old_tls_;  // handshakes may still point at them
  ring::Producer up_;
  ring::Consumer down_;
  int doorbell_ = -1;
  uint64_t cfg_gen_ = 0;
  ring::ServerConfig cfg_;
  std::string tls_identity_;  // certificate file the context was built from
  bool listening_ = false;
  uint16_t listen_port_ = 0;
  std::vector<uint32_t> listen_ips_;  // the data plane's own port addresses, one listener each
  uint32_t serial_ = 0;
  absl::flat_hash_map<uint32_t, Call*> calls_;
  std::deque<uint32_t> hs_waiting_;  // keys of accepted calls waiting for a handshake slot
  std::vector<Call*> graveyard_;
  TlsLcore tl_;  // what this lcore's TLS connections share (tls_conn.h)
  uint64_t next_timer_ns_ = 0;
  uint64_t next_counters_ns_ = 0;
  uint64_t unix_ns_ = 0;
  MacTable macs_;  // bridged sessions (BCP): learned MAC -> session key, or kOnPort
  std::vector<Call*> bridged_[kMaxPorts];  // this lcore's bridged sessions per port
  uint32_t dq_total_ = 0;                  // packets held in all calls' down queues on this lcore
  uint32_t dq_total_max_ = 0;

 public:
  struct Stats {
    uint64_t accepted = 0, refused = 0, tls_failed = 0, http_failed = 0, calls_opened = 0,
             calls_closed = 0, up_packets = 0, up_bytes = 0, down_packets = 0, down_bytes = 0,
             hs_waited = 0, up_dropped_spoof = 0, up_dropped_bad = 0, up_dropped_protocol = 0,
             up_dropped_not_up = 0, up_dropped_local = 0, down_dropped_no_session = 0,
             down_dropped_no_space = 0, down_dropped_too_big = 0, down_queued = 0,
             down_queue_peak = 0, up_dropped_rate = 0, down_dropped_rate = 0, bridge_up_frames = 0,
             bridge_down_frames = 0, bridge_flooded = 0, bridge_filtered = 0,
             bridge_dropped_bad = 0, ring_full = 0, cp_absent_refused = 0;
  } stats;
};

}  // namespace

class Server {
 public:
  Server(Net* net, ServerOptions opts) : net_(net), opts_(std::move(opts)) {}
  ~Server();
  absl::Status Init();

  Net* net_;
  ServerOptions opts_;
  ring::Segment seg_;
  SharedConfig shared_;
  std::string self_signed_path_;
  std::vector<std::unique_ptr<Lcore>> lcores_;
  std::atomic<int> up_doorbell_{-1};  // the control plane's up-ring eventfd
  ring::Doorbell down_bell_;          // ours (we poll; sent so the exchange is symmetric)
  std::atomic<bool> stop_{false};
  std::thread control_;
  std::atomic<bool> promiscuous_[kMaxPorts] = {};  // set once a port carries a bridged session

 private:
  void ControlLoop();
  bool ExchangeDoorbells();
};

namespace {

// ------------------------------------------------------------------------------------------------
// mbuf helpers

ring::CloseReason ReasonOf(const sstp::Event& e) {
  if (e.status == sstp::StatusCode::kNegotiationTimeout)
    return ring::CloseReason::kNegotiationFailed;
  if (absl::StrContains(e.reason, "dead peer")) return ring::CloseReason::kKeepaliveTimeout;
  if (absl::StrContains(e.reason, "transport closed")) return ring::CloseReason::kTcpReset;
  if (absl::StrContains(e.reason, "MAC") || absl::StrContains(e.reason, "nonce") ||
      absl::StrContains(e.reason, "binding") || absl::StrContains(e.reason, "hash")) {
    return ring::CloseReason::kCryptoBindingFailed;
  }
  if (e.by_peer) return ring::CloseReason::kClientDisconnect;
  return ring::CloseReason::kUnknown;
}

// ------------------------------------------------------------------------------------------------
// Call

Call::~Call() {
  lc_->DropDownQueue(this);
  if (hs_wait_rx_ != nullptr) rte_pktmbuf_free(hs_wait_rx_);
}

void Call::SendSstp(absl::Span<const uint8_t> head, absl::Span<const uint8_t> tail) {
  if (tls_.conn == nullptr || tcp_closing_) return;
  lc_->SealAndQueue(this, head, tail);
}

void Call::DeliverPpp(absl::Span<const uint8_t> frame) {
  if (sstp::IsPppControlFrame(frame)) {
    if (!opened_sent_ || closed_sent_) return;
    ring::PppFrame f;
    f.frame.assign(frame.begin(), frame.end());
    lc_->PushUp(ring::MsgType::kPppFrameUp, id_, f);
    return;
  }
  lc_->ForwardUp(this, frame);
}

void Call::OnEvent(const sstp::Event& e) {
  switch (e.type) {
    case sstp::EventType::kStartPpp:
      if (!lc_->CpReady()) {
        want_abort_cp_absent_ = true;  // handled after the state machine returns (AfterSm)
        break;
      }
      opened_sent_ = true;
      lc_->PushUp(ring::MsgType::kSessionOpened, id_, opened_);
      break;
    case sstp::EventType::kConnected:
      Log("call %#x from %s: crypto binding verified, connected%s", id_, peer_,
          sm_ && sm_->zero_hlak_accepted() ? " (zero HLAK accepted)" : "");
      break;
    case sstp::EventType::kAborted:
    case sstp::EventType::kDisconnected:
      if (close_reason_ == ring::CloseReason::kUnknown) close_reason_ = ReasonOf(e);
      if (close_detail_.empty()) close_detail_ = e.reason;
      Log("call %#x from %s: %s%s: %s", id_, peer_,
          e.type == sstp::EventType::kAborted ? "abort" : "disconnect",
          e.by_peer ? " by the client" : "", e.reason);
      break;
    case sstp::EventType::kClosed:
      want_close_ = true;
      break;
  }
}

// ------------------------------------------------------------------------------------------------
// Lcore

Lcore::~Lcore() {
  for (auto& [k, c] : calls_) delete c;
  for (Call* c : graveyard_) delete c;
}

bool Lcore::CpReady() const { return srv_->seg_.CpAcceptsSessions(ring::MonotonicNowNs()); }

void Lcore::PushUp(ring::MsgType type, uint64_t session, const ring::Message& body) {
  if (!ring::Send(up_, type, session, body)) {
    ++stats.ring_full;
    Log("ring: up ring of worker %u full: %s for session %#x dropped", w_->index,
        ring::MsgTypeName(type), session);
  }
}

void Lcore::Start() {
  auto crypto = tls::LcoreCrypto::Create();
  if (!crypto.ok()) {
    Log("worker %u: %s; SSTP disabled on this lcore", w_->index, crypto.status().ToString());
    return;
  }
  crypto_ = *std::move(crypto);
  tl_.Init(w_, crypto_.get());
  up_ = srv_->seg_.UpProducer(w_->index, srv_->up_doorbell_.load());
  down_ = srv_->seg_.DownConsumer(w_->index);
  doorbell_ = srv_->up_doorbell_.load();
  // Held downstream packets may take at most a quarter of this lcore's share of the mbuf pool, so
  // many congested sessions cannot starve RX.
  dq_total_max_ = w_->net->pool->size / (4 * std::max<uint32_t>(w_->net->n_workers, 1));
  ring::Hello h;
  h.n_lcores = uint16_t(w_->net->n_workers);
  h.lcore = uint16_t(w_->index);
  h.pid = uint32_t(getpid());
  h.dp_epoch = srv_->seg_.header()->dp_epoch.load();
  PushUp(ring::MsgType::kHello, 0, h);
  ApplyConfig();
}

void Lcore::Stop() {
  StopListening();
  std::vector<Call*> all;
  // Graceful stop (MS-SSTP 3.1.1.1.1): CALL_DISCONNECT to every connected client, then keep the
  // loop running (bounded) so the ACKs come in and the calls close in order.
  for (auto& [k, c] : calls_) all.push_back(c);
  bool waiting = false;
  for (Call* c : all) {
    if (c->sm_ && c->sm_->connected() && c->tls_.conn != nullptr && !c->tcp_closing_) {
      c->close_reason_ = ring::CloseReason::kAdminClose;
      c->close_detail_ = "data plane stopping";
      c->sm_->Disconnect(Now(), "data plane stopping");
      AfterSm(c);
      waiting = true;
    }
  }
  const uint64_t give_up = w_->now_ns + kStopGraceNs;
  auto pending = [&] {
    for (auto& [k, c] : calls_) {
      if (c->sm_ && !c->sm_->closed() && c->tls_.conn != nullptr) return true;
    }
    return false;
  };
  while (waiting && pending() && w_->now_ns < give_up) {
    if (!WorkerRunOnce(w_)) usleep(100);
  }
  if (waiting) {
    int open = 0;
    for (auto& [k, c] : calls_) open += c->sm_ && !c->sm_->closed() && c->tls_.conn != nullptr;
    Log("worker %u: graceful stop: CALL_DISCONNECT sent, %d call(s) still open after the wait",
        w_->index, open);
  }
  WorkerFlushTx(w_);
  all.clear();
  for (auto& [k, c] : calls_) all.push_back(c);
  for (Call* c : all) {
    if (c->tls_.conn != nullptr) {
      if (c->close_reason_ == ring::CloseReason::kUnknown) {
        c->close_reason_ = ring::CloseReason::kAdminClose;
        c->close_detail_ = "data plane stopping";
      }
      w_->tcp->Abort(c->tls_.conn, w_->now_ns);  // OnClosed runs now
    }
  }
  for (Call* c : graveyard_) delete c;
  graveyard_.clear();
  Log("worker %u: SSTP: %u accepted (%u waited for a handshake slot), %u refused, %u TLS failures, "
      "%u calls opened, %u closed; "
      "upstream %u packets %u bytes, downstream %u packets %u bytes (%u waited for send space, "
      "at most %u in one session); drops: spoofed %u, bad %u, not IPv4 %u, not up %u, "
      "no session %u, "
      "down queue full %u, too big %u, rate-limit up %u down %u; ring full %u; bridged frames up "
      "%u down %u, flooded %u, filtered %u, bad %u",
      w_->index, stats.accepted, stats.hs_waited, stats.refused, stats.tls_failed,
      stats.calls_opened, stats.calls_closed, stats.up_packets, stats.up_bytes, stats.down_packets,
      stats.down_bytes, stats.down_queued, stats.down_queue_peak, stats.up_dropped_spoof,
      stats.up_dropped_bad, stats.up_dropped_protocol, stats.up_dropped_not_up,
      stats.down_dropped_no_session, stats.down_dropped_no_space, stats.down_dropped_too_big,
      stats.up_dropped_rate, stats.down_dropped_rate, stats.ring_full, stats.bridge_up_frames,
      stats.bridge_down_frames, stats.bridge_flooded, stats.bridge_filtered,
      stats.bridge_dropped_bad);
}

void Lcore::ApplyConfig() {
  uint64_t gen = srv_->shared_.gen.load(std::memory_order_acquire);
  if (gen == cfg_gen_ && cfg_gen_ != 0) return;
  {
    std::lock_guard<std::mutex> l(srv_->shared_.mu);
    cfg_ = srv_->shared_.cfg;
    cfg_gen_ = srv_->shared_.gen.load();
  }
  if (crypto_ == nullptr || w_->tcp == nullptr) return;
  std::string identity = !cfg_.certificate_file.empty()          ? cfg_.certificate_file
                         : !srv_->opts_.certificate_file.empty() ? srv_->opts_.certificate_file
                                                                 : srv_->self_signed_path_;
  std::string key =
      !cfg_.certificate_file.empty() ? cfg_.private_key_file : srv_->opts_.private_key_file;
  std::string want_identity =
      absl::StrCat(identity, "|", key, "|", int(cfg_.require_client_certificate));
  if (tls_ == nullptr || want_identity != tls_identity_) {
    tls::TlsConfig tc;
    tc.role = tls::Role::kServer;
    if (srv_->opts_.anonymous_tls) {
      // --sstp-anonymous-tls (INSECURE, both ends ours): TLS 1.2 anonymous DH, no certificate on
      // either side; the crypto binding then carries a zero certificate hash, as the client's.
      tc.anonymous = true;
    } else {
      tc.certificate_file = identity;
      tc.private_key_file = key.empty() ? identity : key;
      tc.require_client_certificate =
          cfg_.require_client_certificate && !srv_->opts_.ca_file.empty();
      tc.ca_file = srv_->opts_.ca_file;
    }
    tc.max_concurrent_handshakes = int(srv_->opts_.max_handshakes);
    tc.handshake_timeout = absl::Seconds(30);
    auto ctx = tls::TlsContext::Create(*crypto_, tc, absl::Now());
    if (!ctx.ok()) {
      Log("worker %u: TLS identity %s: %s", w_->index, identity, ctx.status().ToString());
    } else {
      if (w_->index == 0) {
        for (const std::string& warn : (*ctx)->warnings()) Log("TLS: %s", warn);
        if (cfg_.require_client_certificate && srv_->opts_.ca_file.empty()) {
          Log("require-client-certificate=yes but no --sstp-ca: client certificates not checked");
        }
      }
      if (tls_ != nullptr) old_tls_.push_back(std::move(tls_));
      tls_ = *std::move(ctx);
      tls_identity_ = want_identity;
    }
  }
  const bool want = cfg_.enabled && tls_ != nullptr;
  if (listening_ && (!want || listen_port_ != cfg_.port)) {
    StopListening();
    if (w_->index == 0) Log("SSTP server: stopped listening on port %u", listen_port_);
  }
  if (want && !listening_) {
    // One listener per address of the data plane's own ports (the router's /ip addresses), not a
    // wildcard: a SYN for any other address is never the server's, and while the server is
    // disabled (or on another port) a SYN to ours is answered with RST by the TCP stack (RFC 9293
    // 3.10.7.1). Packets for addresses that are not ours are forwarded and never reach TCP.
    std::string where;
    for (uint16_t i = 0; i < w_->net->n_ports; ++i) {
      for (uint16_t a = 0; a < w_->net->ports[i].n_addrs; ++a) {
        const uint32_t ip = w_->net->ports[i].addrs[a].addr;
        if (std::find(listen_ips_.begin(), listen_ips_.end(), ip) != listen_ips_.end()) continue;
        absl::Status s = w_->tcp->Listen(ip, cfg_.port, this);
        if (!s.ok()) {
          Log("worker %u: listen on %s:%u: %s", w_->index, Ip(ip), cfg_.port, s.ToString());
          continue;
        }
        listen_ips_.push_back(ip);
        absl::StrAppend(&where, where.empty() ? "" : ", ", Ip(ip));
      }
    }
    if (!listen_ips_.empty()) {
      listening_ = true;
      listen_port_ = cfg_.port;
      if (w_->index == 0) Log("SSTP server: listening on port %u (%s)", listen_port_, where);
    } else if (w_->index == 0) {
      Log("SSTP server: no address to listen on (give the ports --address)");
    }
  }
}

void Lcore::StopListening() {
  for (uint32_t ip : listen_ips_) (void)w_->tcp->Unlisten(ip, listen_port_);
  listen_ips_.clear();
  listening_ = false;
}

bool Lcore::OnAccept(Conn* c) {
  if (tls_ == nullptr || !listening_) {
    ++stats.refused;
    return false;
  }
  // Calls that waited are served first (FIFO); a new one queues behind them.
  absl::StatusOr<std::unique_ptr<tls::Handshake>> hs =
      hs_waiting_.empty() ? tls::Handshake::Create(*tls_, Now())
                          : absl::ResourceExhaustedError("callers are waiting for a handshake");
  const bool wait = !hs.ok() && absl::IsResourceExhausted(hs.status()) &&
                    hs_waiting_.size() < kMaxHandshakeWaiting;
  if (!hs.ok() && !wait) {
    ++stats.refused;
    Log("worker %u: refusing a connection: %s", w_->index, hs.status().ToString());
    return false;
  }
  uint32_t key = ++serial_;
  if (key == 0) key = ++serial_;
  auto* call = new Call(this, c, key, ring::MakeSessionId(uint16_t(w_->index), key));
  if (wait) {
    call->hs_wait_since_ = Now();
    hs_waiting_.push_back(key);
    ++stats.hs_waited;
  } else {
    call->tls_.hs = *std::move(hs);
  }
  tcp::Tuple t = Stack::GetTuple(c);
  call->peer_ = absl::StrCat(Ip(t.remote_ip), ":", t.remote_port);
  call->opened_.lcore = uint16_t(w_->index);
  call->opened_.peer = ring::IpAddr::V4(t.remote_ip);
  call->opened_.peer_port = t.remote_port;
  call->opened_.local = ring::IpAddr::V4(t.local_ip);
  call->opened_.local_port = t.local_port;
  call->opened_.opened_unix_ns = uint64_t(absl::GetCurrentTimeNanos());
  calls_[key] = call;
  Stack::SetUser(c, call);
  ++stats.accepted;
  return true;
}

void Lcore::OnData(Conn* c, rte_mbuf* data) {
  auto* call = static_cast<Call*>(Stack::GetUser(c));
  const uint32_t len = rte_pktmbuf_pkt_len(data);
  // The bytes are ours now: reopen the window at once. What stays buffered is at most one
  // incomplete TLS record (records are opened as soon as they are complete).
  w_->tcp->Consumed(c, len, w_->now_ns);
  if (call == nullptr || call->phase_ == Call::Phase::kDone || call->tcp_closing_) {
    rte_pktmbuf_free(data);
    return;
  }
  if (call->phase_ == Call::Phase::kTls && call->tls_.hs == nullptr) {
    // Waiting for a handshake slot: keep the ClientHello until AdmitWaiting starts the handshake.
    if (call->hs_wait_rx_ == nullptr) {
      call->hs_wait_rx_ = data;
    } else if (rte_pktmbuf_chain(call->hs_wait_rx_, data) != 0) {
      rte_pktmbuf_free(data);
      Finish(call, "receive queue too fragmented");
    }
    return;
  }
  if (call->phase_ == Call::Phase::kTls) {
    Handshake(call, data);
    return;
  }
  if (call->tls_.rx == nullptr) {
    call->tls_.rx = data;
  } else if (rte_pktmbuf_chain(call->tls_.rx, data) != 0) {
    rte_pktmbuf_free(data);
    Finish(call, "receive queue too fragmented");
    return;
  }
  ProcessRecords(call);
}

// Starts the handshakes of waiting calls while slots are free (oldest first); drops keys of calls
// that ended while waiting.
void Lcore::AdmitWaiting() {
  while (!hs_waiting_.empty() && tls_ != nullptr) {
    auto it = calls_.find(hs_waiting_.front());
    if (it == calls_.end() || it->second->tls_.conn == nullptr || it->second->tcp_closing_ ||
        it->second->phase_ != Call::Phase::kTls) {
      hs_waiting_.pop_front();
      continue;
    }
    auto hs = tls::Handshake::Create(*tls_, Now());
    if (!hs.ok()) return;  // still no slot
    hs_waiting_.pop_front();
    Call* call = it->second;
    call->tls_.hs = *std::move(hs);
    call->hs_wait_since_ = absl::InfinitePast();
    if (rte_mbuf* data = std::exchange(call->hs_wait_rx_, nullptr)) Handshake(call, data);
  }
}

void Lcore::Handshake(Call* call, rte_mbuf* data) {
  tls::Handover ho;
  std::string error;
  switch (call->tls_.Handshake(tl_, data, &ho, &error)) {
    case TlsConn::Step::kInProgress:
      return;
    case TlsConn::Step::kFailed:
      ++stats.tls_failed;
      Log("call from %s: TLS handshake failed: %s", call->peer_, error);
      CloseTransport(call);
      return;
    case TlsConn::Step::kEstablished:
      break;
  }
  call->opened_.tls_version = ho.keys.version == tls::Version::kTls13 ? 0x0304 : 0x0303;
  call->opened_.tls_cipher = ho.cipher_name;
  call->opened_.client_cert_subject = ho.peer_subject;
  if (ho.peer_certificate) {
    call->opened_.has_client_cert = 1;
    call->opened_.client_cert_sha256 = ho.peer_certificate->sha256;
  }
  call->phase_ = Call::Phase::kHttp;
  ProcessRecords(call);
}

void Lcore::ProcessRecords(Call* call) {
  if (call->tcp_closing_ || call->phase_ == Call::Phase::kDone) return;
  call->tls_.Open(
      tl_, TlsRxPolicy::kConsumedByUpper,
      [&](const tls::OpenResult& r, const tls::SegmentList& pieces) {
        if (r.status == tls::OpenStatus::kData) {
          for (absl::Span<uint8_t> p : pieces) {
            OnPlaintext(call, p);
            if (call->phase_ == Call::Phase::kDone || call->tcp_closing_) return false;
          }
          return true;
        }
        // close_notify, a fatal alert from the peer, or a record that failed: the
        // call is over (our close_notify or alert is on its way).
        if (r.status != tls::OpenStatus::kCloseNotify) {
          Log("call %#x from %s: TLS %s (%s)", call->id_, call->peer_,
              r.status == tls::OpenStatus::kPeerAlert ? "alert from the client" : "record error",
              tls::AlertName(r.alert));
        }
        if (call->sm_) {
          call->sm_->OnTransportClosed(Now(), "TLS connection closed by the client");
          AfterSm(call);
        }
        CloseTransport(call);
        return false;
      });
  if (call->tls_.conn != nullptr && !call->tls_.rec.write_closed()) call->tls_.FlushPending(tl_);
}

void Lcore::OnPlaintext(Call* call, absl::Span<const uint8_t> bytes) {
  if (call->phase_ == Call::Phase::kHttp) {
    sstp::HttpParse p = call->http_.Feed(bytes);
    if (p == sstp::HttpParse::kNeedMore) return;
    if (p == sstp::HttpParse::kError) {
      ++stats.http_failed;
      Log("call from %s: HTTP request refused (%d): %s", call->peer_, call->http_.error_status(),
          call->http_.error_reason());
      std::string reply = sstp::BuildErrorReply(call->http_.error_status());
      SealAndQueue(call, {reinterpret_cast<const uint8_t*>(reply.data()), reply.size()}, {});
      CloseTransport(call);
      return;
    }
    std::string reply = sstp::BuildServerReply("sstp-concentrator");
    SealAndQueue(call, {reinterpret_cast<const uint8_t*>(reply.data()), reply.size()}, {});
    sstp::ServerConfig sc;
    sc.timers.negotiation = absl::Seconds(srv_->opts_.negotiation_timeout_s);
    sc.timers.hello = cfg_.keepalive_timeout_s == 0 ? absl::InfiniteDuration()
                                                    : absl::Seconds(cfg_.keepalive_timeout_s);
    sc.timers.echo_retransmit = absl::Seconds(1);  // RouterOS: an echo every second
    sc.accept_zero_hlak = srv_->opts_.accept_zero_hlak;
    if (const auto& h = tls_->certificate_hashes()) {
      std::copy(h->sha1.begin(), h->sha1.end(), sc.cert_hash_sha1.begin());
      std::copy(h->sha256.begin(), h->sha256.end(), sc.cert_hash_sha256.begin());
    }
    sstp::Nonce nonce;
    RAND_bytes_ex(crypto_->libctx(), nonce.data(), nonce.size(), 0);
    call->nonce_ = nonce;
    call->cert_hash_sha256_ = sc.cert_hash_sha256;
    call->sm_.emplace(sc, nonce, call);
    call->sm_->Start(Now());
    call->phase_ = Call::Phase::kSstp;
    ++stats.calls_opened;
    bytes.remove_prefix(call->http_.consumed());
    if (bytes.empty()) return;
  }
  if (call->phase_ != Call::Phase::kSstp) return;
  absl::Status s = call->assembler_.Feed(
      bytes, [&](absl::Span<const uint8_t> packet) { OnSstpPacket(call, packet); });
  if (!s.ok() && call->sm_) {
    Log("call %#x from %s: SSTP framing: %s", call->id_, call->peer_, s.ToString());
    call->sm_->OnTransportClosed(Now(), std::string(s.message()));
  }
  AfterSm(call);
}

void Lcore::OnSstpPacket(Call* call, absl::Span<const uint8_t> packet) {
  if (call->phase_ != Call::Phase::kSstp || !call->sm_) return;
  sstp::Header h;
  if (call->is_up_ && call->sm_->connected() && sstp::ReadHeader(packet.data(), &h) && !h.control) {
    // Fast path: data packets bypass the state machine once connected (MS-SSTP 3.1.2.3 hello
    // timer restart through NoteDataReceived).
    call->sm_->NoteDataReceived(Now());
    absl::Span<const uint8_t> frame = packet.subspan(sstp::kHeaderSize);
    if (!sstp::IsPppControlFrame(frame)) {
      ForwardUp(call, frame);
      return;
    }
  }
  if (call->synthetic_connected_ && packet.size() >= sstp::kControlHeaderSize && (packet[1] & 1) &&
      (packet[4] << 8 | packet[5]) == uint16_t(sstp::MessageType::kCallConnected)) {
    Log("call %#x from %s: late CALL_CONNECTED ignored (already connected)", call->id_,
        call->peer_);
    return;
  }
  call->sm_->OnPacket(Now(), packet);
}

void Lcore::ForwardUp(Call* call, absl::Span<const uint8_t> frame) {
  if (!call->is_up_) {
    ++stats.up_dropped_not_up;
    return;
  }
  size_t off = 0;
  if (frame.size() >= 2 && frame[0] == 0xff && frame[1] == 0x03) off = 2;
  if (frame.size() <= off) {
    ++stats.up_dropped_bad;
    return;
  }
  uint16_t proto;
  if (frame[off] & 1) {  // RFC 1661 6.5: compressed (one-byte) protocol field
    proto = frame[off];
    off += 1;
  } else {
    if (frame.size() < off + 2) {
      ++stats.up_dropped_bad;
      return;
    }
    proto = uint16_t(frame[off] << 8 | frame[off + 1]);
    off += 2;
  }
  if (proto == kPppBridged) {
    BridgeUp(call, frame.subspan(off));
    return;
  }
  if (proto != kPppIpv4) {
    // Only IPv4 and bridged frames are forwarded; the control plane does not open IPV6CP, so a
    // client sending IPv6 (or anything else) here ignored the Protocol-Reject.
    ++stats.up_dropped_protocol;
    return;
  }
  absl::Span<const uint8_t> ip = frame.subspan(off);
  // RFC 1812 5.2.2: validate the header before forwarding.
  if (ip.size() < sizeof(rte_ipv4_hdr) || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5) {
    ++stats.up_dropped_bad;
    return;
  }
  const size_t ihl = size_t(ip[0] & 0xf) * 4;
  const size_t total = size_t(ip[2]) << 8 | ip[3];
  if (total < ihl || total > ip.size() || ihl > ip.size()) {
    ++stats.up_dropped_bad;
    return;
  }
  if (rte_raw_cksum(ip.data(), ihl) != 0xffff) {
    ++stats.up_dropped_bad;
    return;
  }
  // No spoofing: the source must be the session's address or inside one of its routes.
  uint32_t src = uint32_t(ip[12]) << 24 | uint32_t(ip[13]) << 16 | uint32_t(ip[14]) << 8 | ip[15];
  bool ok = call->up_.remote_v4.family == 4 && src == call->up_.remote_v4.v4();
  for (size_t i = 0; !ok && i < call->up_.routes.size(); ++i) {
    const ring::RouteEntry& r = call->up_.routes[i];
    if (r.dst.family != 4) continue;
    Ipv4Prefix p{r.dst.v4(), r.prefix_len};
    ok = p.Contains(src);
  }
  if (!ok) {
    ++stats.up_dropped_spoof;
    return;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(w_->net->pool);
  if (m == nullptr) {
    ++w_->c.mbuf_alloc_failed;
    return;
  }
  if (rte_pktmbuf_tailroom(m) < total) {
    rte_pktmbuf_free(m);
    ++stats.up_dropped_bad;
    return;
  }
  auto* copy = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, uint16_t(total)));
  memcpy(copy, ip.data(), total);
  if (call->up_.change_tcp_mss && copy[9] == IPPROTO_TCP) ClampTcpMss(copy, total, call->up_.mtu);
  m->l2_len = 0;
  m->l3_len = uint16_t(ihl);
  // For the router itself: its port addresses or the session's local (PPP peer) address. Echo
  // requests are answered (the first thing a user tries is pinging the other end of the link);
  // anything else for us from inside a tunnel is dropped.
  const uint32_t dst =
      uint32_t(ip[16]) << 24 | uint32_t(ip[17]) << 16 | uint32_t(ip[18]) << 8 | ip[19];
  if (w_->net->IsLocalAddress(dst) ||
      (call->up_.local_v4.family == 4 && dst == call->up_.local_v4.v4())) {
    const bool fragment = ((ip[6] & 0x3f) | ip[7]) != 0;
    auto* icmp = rte_pktmbuf_mtod_offset(m, uint8_t*, ihl);
    if (ip[9] == IPPROTO_ICMP && !fragment && total >= ihl + 8 && icmp[0] == 8 && icmp[1] == 0 &&
        rte_raw_cksum(icmp, total - ihl) == 0xffff) {
      ++call->counters_.rx_packets;
      call->counters_.rx_bytes += total;
      call->counters_.last_rx_unix_ns = unix_ns_;
      // Echo reply (RFC 792) straight back into this session: same identifier, sequence, data.
      auto* h = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
      const rte_be32_t src_be = h->src_addr;
      h->src_addr = h->dst_addr;
      h->dst_addr = src_be;
      h->time_to_live = 64;
      h->hdr_checksum = 0;
      h->hdr_checksum = rte_ipv4_cksum(h);
      icmp[0] = 0;
      icmp[2] = icmp[3] = 0;
      uint16_t sum = uint16_t(~rte_raw_cksum(icmp, total - ihl));
      memcpy(icmp + 2, &sum, 2);
      SessionOutput(m, call->key_);
    } else {
      ++stats.up_dropped_local;
      rte_pktmbuf_free(m);
    }
    return;
  }
  if (!call->rate_rx_.Admit(uint32_t(total), w_->now_ns)) {
    ++stats.up_dropped_rate;
    rte_pktmbuf_free(m);
    return;
  }
  ++stats.up_packets;
  stats.up_bytes += total;
  ++call->counters_.rx_packets;
  call->counters_.rx_bytes += total;
  call->counters_.last_rx_unix_ns = unix_ns_;
  // ICMP errors about this packet (time exceeded, unreachable, fragmentation needed) come from
  // the session's end of the link, as traceroute through a PPP link shows it.
  w_->icmp_session_src = call->up_.local_v4.family == 4 ? call->up_.local_v4.v4() : 0;
  Ipv4Forward(w_, m, -1);
  w_->icmp_session_src = 0;
}

void Lcore::SessionOutput(rte_mbuf* m, uint32_t key) {
  auto it = calls_.find(key);
  Call* call = it == calls_.end() ? nullptr : it->second;
  if (call == nullptr || !call->is_up_ || call->tls_.conn == nullptr || call->tcp_closing_ ||
      !call->sm_ || !call->sm_->connected()) {
    ++stats.down_dropped_no_session;
    rte_pktmbuf_free(m);
    return;
  }
  const uint32_t ip_len = rte_pktmbuf_pkt_len(m);
  // The MTU negotiated for this session (SessionUp.mtu: the client's MRU within max-mtu), not the
  // FIB route's (which can only know max-mtu: routes arrive on lcore 0, the session lives here).
  // No fragmentation on the fast path: DF packets get "fragmentation needed" with the session's
  // MTU (RFC 1191 4), the others are dropped; both counted.
  const uint32_t mtu = call->up_.mtu ? call->up_.mtu : sstp::kMaxDataPayload - kPppDataHeader;
  if (ip_len > mtu || ip_len + kPppDataHeader > sstp::kMaxDataPayload) {
    ++stats.down_dropped_too_big;
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    if (rte_pktmbuf_data_len(m) >= sizeof(rte_ipv4_hdr) &&
        (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG))) {
      ++w_->c.ip_frag_needed;
      IcmpSendError(w_, m, 3, 4, std::min<uint32_t>(mtu, 0xffff), -1);
    }
    rte_pktmbuf_free(m);
    return;
  }
  m->hash.usr = kDownIpv4;
  DeliverDown(call, m);
}

// A downstream packet (IPv4) or frame (bridged) for an up session: rate limit, then sealed now or
// held in the session's down queue until the outer TCP has room.
void Lcore::DeliverDown(Call* call, rte_mbuf* m) {
  const uint32_t len = rte_pktmbuf_pkt_len(m);
  if (call->tls_.conn == nullptr || call->tcp_closing_ ||
      len + PppHeaderOf(m) > sstp::kMaxDataPayload) {
    ++stats.down_dropped_no_session;
    rte_pktmbuf_free(m);
    return;
  }
  if (!call->rate_tx_.Admit(len, w_->now_ns)) {
    ++stats.down_dropped_rate;
    rte_pktmbuf_free(m);
    return;
  }
  const size_t record = call->tls_.rec.header_len() + sstp::kHeaderSize + PppHeaderOf(m) + len +
                        call->tls_.rec.trailer_len();
  if (call->dq_n_ == 0 && call->tls_.backlog.empty() &&
      w_->tcp->SendSpace(call->tls_.conn) >= record) {
    SealDown(call, m);
    return;
  }
  // No room in the outer TCP send queue: hold the plain packet (bounded per session and per
  // lcore) until OnWritable. Dropping here instead made the inner TCP see a loss burst every time
  // the outer connection's queue filled (downstream iperf3 at half the no-tunnel rate).
  if (call->dq_n_ >= call->dq_cap_ || dq_total_ >= dq_total_max_) {
    ++stats.down_dropped_no_space;
    rte_pktmbuf_free(m);
    return;
  }
  call->dq_[(call->dq_head_ + call->dq_n_) % call->dq_cap_] = m;
  ++call->dq_n_;
  ++dq_total_;
  ++stats.down_queued;
  stats.down_queue_peak = std::max<uint64_t>(stats.down_queue_peak, call->dq_n_);
  w_->tcp->RequestWritable(call->tls_.conn);
}

// Seals the queued packets that fit in the send queue now, oldest first.
void Lcore::DrainDown(Call* call) {
  while (call->dq_n_ > 0 && call->tls_.conn != nullptr && call->tls_.backlog.empty()) {
    rte_mbuf* m = call->dq_[call->dq_head_];
    const size_t record = call->tls_.rec.header_len() + sstp::kHeaderSize + PppHeaderOf(m) +
                          rte_pktmbuf_pkt_len(m) + call->tls_.rec.trailer_len();
    if (w_->tcp->SendSpace(call->tls_.conn) < record) {
      w_->tcp->RequestWritable(call->tls_.conn);
      return;
    }
    call->dq_head_ = (call->dq_head_ + 1) % call->dq_cap_;
    --call->dq_n_;
    --dq_total_;
    SealDown(call, m);
  }
}

void Lcore::DropDownQueue(Call* call) {
  for (; call->dq_n_ > 0; --call->dq_n_) {
    rte_pktmbuf_free(call->dq_[call->dq_head_]);
    call->dq_head_ = (call->dq_head_ + 1) % call->dq_cap_;
    --dq_total_;
  }
}

// The downstream fast path proper: PPP + SSTP headers into the headroom, one TLS record sealed in
// place, handed to TCP (which has room for it: checked by the callers).
void Lcore::SealDown(Call* call, rte_mbuf* m) {
  const uint32_t ip_len = rte_pktmbuf_pkt_len(m);
  const bool bridged = m->hash.usr == kDownBridged;
  const size_t ppp_len = bridged ? kPppBridgedHeader : kPppDataHeader;
  const size_t head = call->tls_.rec.header_len() + sstp::kHeaderSize + ppp_len;
  if (m->nb_segs != 1 || rte_pktmbuf_headroom(m) < head ||
      rte_pktmbuf_tailroom(m) < call->tls_.rec.trailer_len()) {
    // Rare (chained or tight mbuf): copy into a fresh one.
    rte_mbuf* c = rte_pktmbuf_alloc(w_->net->pool);
    if (c == nullptr || rte_pktmbuf_tailroom(c) < ip_len + call->tls_.rec.trailer_len()) {
      rte_pktmbuf_free(c);
      rte_pktmbuf_free(m);
      ++w_->c.mbuf_alloc_failed;
      return;
    }
    rte_pktmbuf_read(m, 0, ip_len, rte_pktmbuf_append(c, uint16_t(ip_len)));
    rte_pktmbuf_free(m);
    m = c;
  }
  if (call->up_.change_tcp_mss && !bridged) {
    auto* ip = rte_pktmbuf_mtod(m, uint8_t*);
    if (ip[9] == IPPROTO_TCP) ClampTcpMss(ip, ip_len, call->up_.mtu);
  }
  auto* p =
      reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, uint16_t(sstp::kHeaderSize + ppp_len)));
  sstp::WriteDataHeader(p, uint16_t(ip_len + ppp_len));
  p[4] = 0xff;
  p[5] = 0x03;
  p[6] = 0x00;
  p[7] = bridged ? 0x31 : 0x21;
  if (bridged) {
    p[8] = ppp::kBridgedEthernetHeader[0];
    p[9] = ppp::kBridgedEthernetHeader[1];
  }
  rte_pktmbuf_prepend(m, uint16_t(call->tls_.rec.header_len()));
  rte_pktmbuf_append(m, uint16_t(call->tls_.rec.trailer_len()));
  m->ol_flags = 0;
  absl::Span<uint8_t> whole(rte_pktmbuf_mtod(m, uint8_t*), m->data_len);
  absl::Status s = call->tls_.rec.Seal(*crypto_, tls::ContentType::kApplicationData, {&whole, 1});
  if (!s.ok()) {
    rte_pktmbuf_free(m);
    Finish(call, absl::StrCat("TLS seal: ", s.message()));
    return;
  }
  call->tls_.Queue(tl_, m);  // the callers checked the backlog is empty and the space is there
  ++stats.down_packets;
  stats.down_bytes += ip_len;
  ++call->counters_.tx_packets;
  call->counters_.tx_bytes += ip_len;
}

// ------------------------------------------------------------------------------------------------
// Bridged sessions (BCP, RFC 3518): Ethernet frames switched between a session and the data-plane
// port its profile's bridge names, and between sessions of that port, by a per-lcore learning
// table (bridge.h). The port is put in promiscuous mode, as a bridge port must be.

void Lcore::AttachBridge(Call* call) {
  Net* net = w_->net;
  const std::string& name = call->up_.bridge_port;
  int idx = -1;
  if (absl::StartsWith(name, "ether")) {  // ether1, ether2, ... in --port order
    int n;
    if (absl::SimpleAtoi(name.substr(5), &n)) idx = n - 1;
  }
  if (idx < 0 || idx >= net->n_ports) {
    Log("call %#x from %s: bridge port %s is not a data-plane port; frames not bridged", call->id_,
        call->peer_, name);
    return;
  }
  call->bridge_port_ = idx;
  bridged_[idx].push_back(call);
  __atomic_fetch_or(&net->ports[idx].bridge_workers, uint64_t{1} << w_->index, __ATOMIC_RELEASE);
  if (!srv_->promiscuous_[idx].exchange(true)) {
    int rc = rte_eth_promiscuous_enable(net->ports[idx].port_id);
    Log("port %s (%s): promiscuous mode for bridged sessions: %s", name, net->ports[idx].name,
        rc == 0 ? "on" : absl::StrCat("failed (", rc, ")"));
  }
  Log("call %#x from %s: %s bridged with %s", call->id_, call->peer_, call->up_.user, name);
}

void Lcore::DetachBridge(Call* call) {
  if (call->bridge_port_ < 0) return;
  auto& v = bridged_[call->bridge_port_];
  v.erase(std::remove(v.begin(), v.end(), call), v.end());
  if (v.empty()) {
    __atomic_fetch_and(&w_->net->ports[call->bridge_port_].bridge_workers,
                       ~(uint64_t{1} << w_->index), __ATOMIC_RELEASE);
  }
  macs_.ForgetSession(call->key_);
  call->bridge_port_ = -1;
}

// Upstream: a bridged frame from the client (the PPP information field after protocol 0x0031).
void Lcore::BridgeUp(Call* call, absl::Span<const uint8_t> info) {
  auto f = ppp::ParseBridgedFrame(info);
  if (call->bridge_port_ < 0 || !f.ok() || f->mac_type != ppp::kMacTypeEthernet ||
      f->bridge_control) {
    ++stats.bridge_dropped_bad;  // not bridged, malformed, or a BPDU (we run no spanning tree)
    return;
  }
  const absl::Span<const uint8_t> frame = f->frame;
  const uint16_t port = uint16_t(call->bridge_port_);
  const Port& p = w_->net->ports[port];
  if (frame.size() > size_t{p.mtu} + 18u) {  // Ethernet header + one 802.1Q tag
    ++stats.bridge_dropped_bad;
    return;
  }
  if (!call->rate_rx_.Admit(uint32_t(frame.size()), w_->now_ns)) {
    ++stats.up_dropped_rate;
    return;
  }
  ++stats.bridge_up_frames;
  ++call->counters_.rx_packets;
  call->counters_.rx_bytes += frame.size();
  call->counters_.last_rx_unix_ns = unix_ns_;
  const uint8_t* dst = frame.data();
  macs_.Learn(frame.data() + 6, call->key_, w_->now_ns);
  const uint32_t to = macs_.Lookup(dst, w_->now_ns);
  if (to == call->key_) {
    ++stats.bridge_filtered;  // for a station behind the same session
    return;
  }
  rte_mbuf* m = CopyToChain(w_->net->pool, frame);
  if (m == nullptr || m->nb_segs != 1) {
    rte_pktmbuf_free(m);
    ++w_->c.mbuf_alloc_failed;
    return;
  }
  // For the data plane itself (its port MAC), or a broadcast it must see too (ARP for its
  // address): processed as if received on the port.
  const bool for_us = memcmp(dst, p.mac.addr_bytes, 6) == 0;
  if (for_us || IsGroupMac(dst)) {
    rte_mbuf* local = for_us ? m : rte_pktmbuf_copy(m, w_->net->pool, 0, UINT32_MAX);
    if (local != nullptr) {
      local->hash.fdir.hi = port;
      HandoffTo(w_, w_->index, local, kHandoffEtherInput);  // after this TCP callback returns
    }
    if (for_us) return;
  }
  if (to != 0 && to != kOnPort) {
    auto it = calls_.find(to);
    if (it != calls_.end() && it->second->bridge_port_ == call->bridge_port_ &&
        it->second->is_up_) {
      m->hash.usr = kDownBridged;
      ++stats.bridge_down_frames;
      DeliverDown(it->second, m);  // session to session on this lcore
      return;
    }
  }
  if (to == 0) {
    // Broadcast, multicast or unknown unicast: the other sessions of this bridge get it too.
    BridgeFlood(m, port, call, true);
  }
  m->l2_len = sizeof(rte_ether_hdr);
  PortTx(w_, port, m);
}

// Copies of `m` (an Ethernet frame) to every bridged session of `port` on this lcore except
// `except`, and to the other workers with bridged sessions on it. `m` stays the caller's.
void Lcore::BridgeFlood(rte_mbuf* m, uint16_t port, const Call* except, bool to_other_workers) {
  ++stats.bridge_flooded;
  for (Call* c : bridged_[port]) {
    if (c == except || !c->is_up_ || c->tls_.conn == nullptr || !c->sm_ || !c->sm_->connected()) {
      continue;
    }
    rte_mbuf* copy = rte_pktmbuf_copy(m, w_->net->pool, 0, UINT32_MAX);
    if (copy == nullptr) {
      ++w_->c.mbuf_alloc_failed;
      return;
    }
    copy->hash.usr = kDownBridged;
    ++stats.bridge_down_frames;
    DeliverDown(c, copy);
  }
  if (!to_other_workers) return;
  uint64_t others = __atomic_load_n(&w_->net->ports[port].bridge_workers, __ATOMIC_ACQUIRE) &
                    ~(uint64_t{1} << w_->index);
  while (others != 0) {
    const uint32_t wi = uint32_t(__builtin_ctzll(others));
    others &= others - 1;
    rte_mbuf* copy = rte_pktmbuf_copy(m, w_->net->pool, 0, UINT32_MAX);
    if (copy == nullptr) {
      ++w_->c.mbuf_alloc_failed;
      return;
    }
    copy->hash.fdir.hi = port;
    HandoffTo(w_, wi, copy, kHandoffBridge);
  }
}

// The data plane's own frames on a bridged port (ARP replies, packets for a bridged station):
// into the session that learned the destination; broadcasts and unknown destinations also to the
// bridged sessions (and the wire).
bool Lcore::BridgeOutput(rte_mbuf* m, uint16_t port) {
  if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) || crypto_ == nullptr) return false;
  const uint8_t* eth = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t to = macs_.Lookup(eth, w_->now_ns);
  if (to == kOnPort) return false;
  if (to != 0) {
    auto it = calls_.find(to);
    if (it != calls_.end() && it->second->bridge_port_ == int(port) && it->second->is_up_ &&
        it->second->tls_.conn != nullptr && it->second->sm_ && it->second->sm_->connected()) {
      m->hash.usr = kDownBridged;
      m->l2_len = 0;
      ++stats.bridge_down_frames;
      DeliverDown(it->second, m);
      return true;
    }
  }
  BridgeFlood(m, port, nullptr, true);
  return false;
}

// Downstream: a frame from a bridged port that is not (only) for the data plane itself, or one
// another worker flooded to this one.
void Lcore::BridgeInput(rte_mbuf* m, uint16_t port, bool handed_off) {
  if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) || crypto_ == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  const uint8_t* eth = rte_pktmbuf_mtod(m, const uint8_t*);
  if (!handed_off) macs_.Learn(eth + 6, kOnPort, w_->now_ns);
  const uint32_t to = macs_.Lookup(eth, w_->now_ns);
  if (to == kOnPort) {
    ++stats.bridge_filtered;  // between two stations on the port's side
    rte_pktmbuf_free(m);
    return;
  }
  if (to != 0) {
    auto it = calls_.find(to);
    if (it != calls_.end() && it->second->bridge_port_ == int(port) && it->second->is_up_ &&
        it->second->tls_.conn != nullptr && it->second->sm_ && it->second->sm_->connected()) {
      m->hash.usr = kDownBridged;
      ++stats.bridge_down_frames;
      DeliverDown(it->second, m);
      return;
    }
  }
  BridgeFlood(m, port, nullptr, !handed_off);
  rte_pktmbuf_free(m);
}

// Control path: one record holding `a` then `b`, through the scratch buffer.
void Lcore::SealAndQueue(Call* call, absl::Span<const uint8_t> a, absl::Span<const uint8_t> b) {
  if (call->tls_.conn == nullptr || call->tls_.rec.write_closed()) return;
  if (!call->tls_.SealCopy(tl_, a, b)) {
    Log("call %#x: TLS seal of a %u-byte control record failed", call->id_, a.size() + b.size());
  }
}

void Lcore::FlushBacklog(Call* call) { call->tls_.FlushBacklog(tl_); }

void Lcore::OnWritable(Conn* c) {
  auto* call = static_cast<Call*>(Stack::GetUser(c));
  if (call == nullptr) return;
  FlushBacklog(call);
  DrainDown(call);
}

void Lcore::OnPeerClosed(Conn* c) {
  auto* call = static_cast<Call*>(Stack::GetUser(c));
  if (call == nullptr) {
    w_->tcp->Close(c, w_->now_ns);
    return;
  }
  if (call->sm_ && !call->sm_->closed()) {
    call->sm_->OnTransportClosed(Now(), "TCP FIN from the client");
    AfterSm(call);
  }
  CloseTransport(call);
}

void Lcore::CloseTransport(Call* call) {
  if (call->tls_.conn == nullptr || call->tcp_closing_) return;
  call->tcp_closing_ = true;
  FlushBacklog(call);
  // Whatever the stack still refuses is lost with the connection.
  w_->tcp->Close(call->tls_.conn, w_->now_ns);
}

void Lcore::Finish(Call* call, const std::string& why) {
  Log("call %#x from %s: %s", call->id_, call->peer_, why);
  if (call->sm_ && !call->sm_->closed()) {
    call->sm_->OnTransportClosed(Now(), why);
    AfterSm(call);
  }
  if (call->tls_.conn != nullptr && !call->tcp_closing_) {
    call->tcp_closing_ = true;
    w_->tcp->Abort(call->tls_.conn, w_->now_ns);
  }
}

void Lcore::OnClosed(Conn* c, tcp::CloseReason why) {
  auto* call = static_cast<Call*>(Stack::GetUser(c));
  Stack::SetUser(c, nullptr);
  if (call == nullptr) return;
  call->tls_.conn = nullptr;
  if (call->sm_ && !call->sm_->closed()) {
    call->sm_->OnTransportClosed(Now(), tcp::CloseReasonName(why));
  }
  if (call->close_reason_ == ring::CloseReason::kUnknown && why != tcp::CloseReason::kNormal) {
    call->close_reason_ = why == tcp::CloseReason::kKeepaliveTimeout
                              ? ring::CloseReason::kKeepaliveTimeout
                              : ring::CloseReason::kTcpReset;
  }
  call->want_close_ = true;
  AfterSm(call);
}

// Deferred effects of state machine events (never re-entered from inside the machine).
void Lcore::AfterSm(Call* call) {
  if (call->want_abort_cp_absent_) {
    call->want_abort_cp_absent_ = false;
    ++stats.cp_absent_refused;
    call->close_reason_ = ring::CloseReason::kControlPlaneGone;
    Log("call %#x from %s: no control plane: refusing the call (CALL_ABORT)", call->id_,
        call->peer_);
    if (call->sm_) call->sm_->Abort(Now(), sstp::StatusCode::kNoError, "no control plane");
  }
  if (!call->want_close_) return;
  if (call->sm_ && !call->sm_->closed() && call->tls_.conn != nullptr) return;
  if (!call->closed_sent_) {
    call->closed_sent_ = true;
    ++stats.calls_closed;
    if (call->opened_sent_) {
      ring::SessionClosed sc;
      sc.reason = call->close_reason_;
      sc.detail = call->close_detail_;
      sc.counters = call->counters_;
      PushUp(ring::MsgType::kSessionClosed, call->id_, sc);
    }
    if (call->phase_ == Call::Phase::kSstp || call->opened_sent_) {
      Log("call %#x from %s (%s) closed: %s%s%s", call->id_, call->peer_,
          call->auth_.user.empty() ? "-" : call->auth_.user,
          ring::CloseReasonName(call->close_reason_), call->close_detail_.empty() ? "" : ": ",
          call->close_detail_);
    }
  }
  call->is_up_ = false;
  call->phase_ = Call::Phase::kDone;
  DropDownQueue(call);
  DetachBridge(call);
  if (call->tls_.conn != nullptr) {
    CloseTransport(call);
    return;  // freed after OnClosed
  }
  if (calls_.erase(call->key_)) graveyard_.push_back(call);
}

// The PPP engine runs in the control plane; the data plane still logs an authentication failure
// (the client usually hangs up before the control plane's kSessionClose arrives) and keeps it as
// the close reason: CHAP/MS-CHAP Failure (RFC 1994 4.2, RFC 2759 6) or PAP Authenticate-Nak
// (RFC 1334 2.2.2) on its way to the client.
void Lcore::NoteAuthFailure(Call* call, absl::Span<const uint8_t> f) {
  size_t off = f.size() >= 2 && f[0] == 0xff && f[1] == 0x03 ? 2 : 0;
  if (f.size() < off + 6) return;
  const uint16_t proto = uint16_t(f[off] << 8 | f[off + 1]);
  const uint8_t code = f[off + 2];
  const size_t len = std::min<size_t>(f.size() - off - 2, size_t(f[off + 4]) << 8 | f[off + 5]);
  absl::Span<const uint8_t> pkt = f.subspan(off + 2, len);
  std::string message;
  if (proto == 0xc223 && code == 4 && pkt.size() >= 4) {
    message.assign(pkt.begin() + 4, pkt.end());
  } else if (proto == 0xc023 && code == 3 && pkt.size() >= 5) {
    message.assign(pkt.begin() + 5, pkt.begin() + std::min<size_t>(pkt.size(), 5 + pkt[4]));
  } else {
    return;
  }
  for (char& ch : message) {
    if (ch < 32 || ch > 126) ch = '.';
  }
  call->close_reason_ = ring::CloseReason::kAuthFailed;
  call->close_detail_ = absl::StrCat("authentication failed: ", message);
  Log("call %#x from %s: PPP authentication failed (%s): %s", call->id_, call->peer_,
      proto == 0xc223 ? "CHAP Failure" : "PAP Authenticate-Nak", message);
}

Call* Lcore::Find(uint64_t session_id) {
  if (ring::SessionLcore(session_id) != w_->index) return nullptr;
  auto it = calls_.find(uint32_t(session_id & 0xffffffffu));
  return it == calls_.end() || it->second->id_ != session_id ? nullptr : it->second;
}

void Lcore::HandleDown(const ring::Decoded& d) {
  using ring::MsgType;
  switch (d.type) {
    case MsgType::kServerConfig:
    case MsgType::kRouteAdd:
    case MsgType::kRouteDel:
    case MsgType::kPortConfig:
    case MsgType::kIpAddress:
      HandleGlobal(d);
      return;
    case MsgType::kDumpRequest:
      DumpSessions(std::get<ring::DumpRequest>(d.body).cp_epoch);
      return;
    default:
      break;
  }
  Call* call = Find(d.session_id);
  if (call == nullptr || !call->sm_ || call->closed_sent_) return;
  const absl::Time now = Now();
  switch (d.type) {
    case MsgType::kPppFrameDown: {
      const auto& f = std::get<ring::PppFrame>(d.body).frame;
      NoteAuthFailure(call, f);
      absl::Status s = call->sm_->SendPppFrame(now, f);
      if (!s.ok())
        Log("call %#x: PPP frame from the control plane not sent: %s", call->id_, s.ToString());
      break;
    }
    case MsgType::kSessionAuthorized:
      call->auth_ = std::get<ring::SessionAuthorized>(d.body);
      call->authorized_ = true;
      Log("call %#x from %s: user %s authenticated (%s)", call->id_, call->peer_, call->auth_.user,
          ring::AuthMethodName(call->auth_.method));
      call->sm_->OnAuthenticationFinished(now, call->auth_.hlak);
      break;
    case MsgType::kSessionUp: {
      call->up_ = std::get<ring::SessionUp>(d.body);
      if (!call->is_up_) call->up_unix_ns_ = uint64_t(absl::GetCurrentTimeNanos());
      if (call->rate_rx_.rate_bps() != std::min(call->up_.rate_rx_bps, TokenBucket::kMaxRateBps)) {
        call->rate_rx_.Configure(call->up_.rate_rx_bps, w_->now_ns);
      }
      if (call->rate_tx_.rate_bps() != std::min(call->up_.rate_tx_bps, TokenBucket::kMaxRateBps)) {
        call->rate_tx_.Configure(call->up_.rate_tx_bps, w_->now_ns);
      }
      if (call->up_.bridge && !call->up_.bridge_port.empty() && call->bridge_port_ < 0) {
        AttachBridge(call);
      }
      if (call->dq_ == nullptr && srv_->opts_.down_queue_packets != 0) {
        call->dq_cap_ = srv_->opts_.down_queue_packets;
        call->dq_.reset(new rte_mbuf*[call->dq_cap_]);
      }
      call->is_up_ = true;
      // MS-SSTP wants CALL_CONNECTED before data flows. sstpc 1.0.18 (the Linux client) sends it
      // after MS-CHAP and PAP but never after MD5-CHAP (seen in tests/e2e/server_realclient.sh).
      // For those methods the HLAK is zero (MS-SSTP 3.2.5.2: no inner-method keys), so the binding
      // would prove only the nonce and the certificate hash; unless --sstp-strict-binding, the call
      // is completed here as if the client had sent the CALL_CONNECTED it owes, and logged. MS-CHAP
      // calls are never relaxed.
      if (!call->sm_->connected() &&
          call->sm_->state() == sstp::State::kServerCallConnectedPending &&
          (call->auth_.method == ring::AuthMethod::kPap ||
           call->auth_.method == ring::AuthMethod::kChap) &&
          !srv_->opts_.strict_binding) {
        Log("call %#x from %s: NCPs up without CALL_CONNECTED after %s: completing the call "
            "without the client's crypto binding (--sstp-strict-binding refuses this)",
            call->id_, call->peer_, ring::AuthMethodName(call->auth_.method));
        sstp::ControlPacket cc = sstp::BuildCallConnected(
            sstp::kHashProtocolSha256, call->nonce_, call->cert_hash_sha256_, sstp::ZeroHlak());
        call->sm_->OnPacket(now, cc.span());
        call->synthetic_connected_ = call->sm_->connected();
      }
      Log("call %#x from %s: %s up, remote %s local %s mtu %u, %u routes%s", call->id_, call->peer_,
          call->up_.user, call->up_.remote_v4.ToString(), call->up_.local_v4.ToString(),
          call->up_.mtu, call->up_.routes.size(),
          call->up_.rate_rx_bps || call->up_.rate_tx_bps
              ? absl::StrFormat(", rate-limit rx %u tx %u bit/s", call->up_.rate_rx_bps,
                                call->up_.rate_tx_bps)
              : std::string());
      break;
    }
    case MsgType::kSessionClose: {
      const auto& c = std::get<ring::SessionClose>(d.body);
      call->close_reason_ = c.reason;
      call->close_detail_ = c.detail;
      Log("call %#x from %s: closed by the control plane: %s: %s", call->id_, call->peer_,
          ring::CloseReasonName(c.reason), c.detail);
      if (call->sm_->connected()) {
        call->sm_->Disconnect(now, c.detail);
      } else {
        call->sm_->Abort(now, sstp::StatusCode::kNoError, c.detail);
      }
      break;
    }
    default:
      break;
  }
  AfterSm(call);
}

// Messages the control plane sends to lcore 0 only (worker 0 is the FIB's only writer).
void Lcore::HandleGlobal(const ring::Decoded& d) {
  using ring::MsgType;
  Net* net = w_->net;
  switch (d.type) {
    case MsgType::kServerConfig: {
      const auto& c = std::get<ring::ServerConfig>(d.body);
      Log("server config: enabled=%s port=%u keepalive-timeout=%u max-mtu=%u certificate=%s",
          c.enabled ? "yes" : "no", c.port, c.keepalive_timeout_s, c.max_mtu,
          c.certificate_file.empty() ? "(none)" : c.certificate_file);
      std::lock_guard<std::mutex> l(srv_->shared_.mu);
      srv_->shared_.cfg = c;
      srv_->shared_.gen.fetch_add(1, std::memory_order_release);
      break;
    }
    case MsgType::kRouteAdd:
    case MsgType::kRouteDel: {
      const ring::RouteEntry& r = std::get<ring::Route>(d.body).route;
      if (r.dst.family != 4) break;
      Ipv4Prefix p{r.dst.v4(), r.prefix_len};
      p.addr = p.Network();
      absl::Status s;
      if (d.type == MsgType::kRouteDel) {
        s = DeleteRoute(net, p);
      } else if (r.gateway.family == 0 && d.session_id != 0) {
        uint16_t mtu = cfg_.max_mtu ? cfg_.max_mtu : 1500;
        s = AddSessionRoute(net, p, uint32_t(d.session_id & 0xffffffffu),
                            ring::SessionLcore(d.session_id), mtu);
      } else if (r.gateway.family == 4) {
        int port = -1;
        for (uint16_t i = 0; i < net->n_ports && port < 0; ++i) {
          for (uint16_t a = 0; a < net->ports[i].n_addrs; ++a) {
            if (net->ports[i].addrs[a].Contains(r.gateway.v4())) port = i;
          }
        }
        if (port < 0) {
          s = absl::FailedPreconditionError(
              absl::StrCat("gateway ", r.gateway.ToString(), " is on no port"));
        } else {
          s = AddRoute(net, p, r.gateway.v4(), uint16_t(port), 0);
        }
      }
      Log("route %s %s/%u%s%s: %s", d.type == MsgType::kRouteAdd ? "add" : "del", Ip(p.addr), p.len,
          r.gateway.family == 4 ? " via " : "", r.gateway.family == 4 ? r.gateway.ToString() : "",
          s.ok() ? "ok" : std::string(s.message()));
      break;
    }
    case MsgType::kPortConfig: {
      // Ports are named ether1, ether2, ... in --port order (as RouterOS names them).
      const auto& pc = std::get<ring::PortConfig>(d.body);
      int idx = -1;
      if (absl::StartsWith(pc.name, "ether")) {
        int n;
        if (absl::SimpleAtoi(pc.name.substr(5), &n)) idx = n - 1;
      }
      if (idx < 0 || idx >= net->n_ports) break;
      Port& port = net->ports[idx];
      ArpMode want = pc.proxy_arp ? ArpMode::kProxyArp : ArpMode::kEnabled;
      ArpMode cur = __atomic_load_n(&port.arp, __ATOMIC_RELAXED);
      if ((cur == ArpMode::kProxyArp) != pc.proxy_arp &&
          (cur == ArpMode::kEnabled || cur == ArpMode::kProxyArp)) {
        __atomic_store_n(&port.arp, want, __ATOMIC_RELAXED);
        Log("port %s (%s): arp=%s", pc.name, port.name, pc.proxy_arp ? "proxy-arp" : "enabled");
      }
      break;
    }
    case MsgType::kIpAddress: {
      const auto& a = std::get<ring::IpAddressConfig>(d.body);
      bool have = false;
      for (uint16_t i = 0; i < net->n_ports; ++i) have |= net->ports[i].HasAddress(a.address.v4());
      if (a.add && !have) {
        Log("/ip address %s/%u on %s: the data plane's addresses come from --address; not applied",
            a.address.ToString(), a.prefix_len, a.interface);
      }
      break;
    }
    default:
      break;
  }
}

void Lcore::DumpSessions(uint64_t epoch) {
  Net* net = w_->net;
  if (w_->index == 0) {
    for (uint16_t i = 0; i < net->n_ports; ++i) {
      ring::PortStatus ps;
      ps.name = absl::StrCat("ether", i + 1);
      std::copy(net->ports[i].mac.addr_bytes, net->ports[i].mac.addr_bytes + 6, ps.mac.begin());
      ps.mtu = net->ports[i].mtu;
      ps.running = 1;
      PushUp(ring::MsgType::kPortStatus, 0, ps);
    }
  }
  uint32_t n = 0;
  for (auto& [k, call] : calls_) {
    if (!call->authorized_ || call->closed_sent_) continue;
    ring::DumpSession ds;
    ds.opened = call->opened_;
    ds.authorized = call->auth_;
    if (call->is_up_) ds.up = call->up_;
    ds.counters = call->counters_;
    ds.up_unix_ns = call->up_unix_ns_;
    PushUp(ring::MsgType::kDumpSession, call->id_, ds);
    call->opened_sent_ = true;
    ++n;
  }
  // Calls still negotiating belonged to the previous control plane's PPP engines: end them.
  for (auto& [k, call] : calls_) {
    if (call->authorized_ || call->closed_sent_ || !call->opened_sent_ || !call->sm_) continue;
    call->close_reason_ = ring::CloseReason::kControlPlaneGone;
    call->opened_sent_ = false;  // the new control plane never knew it
    call->sm_->Abort(Now(), sstp::StatusCode::kNoError, "control plane restarted");
  }
  PushUp(ring::MsgType::kDumpEnd, 0, ring::DumpEnd{epoch, n});
}

void Lcore::SendCounters() {
  ring::Counters c;
  for (auto& [k, call] : calls_) {
    if (!call->is_up_) continue;
    c.sessions.push_back({call->id_, call->counters_});
    if (c.sessions.size() == ring::kMaxCounterEntries) {
      PushUp(ring::MsgType::kCounters, 0, c);
      c.sessions.clear();
    }
  }
  if (!c.sessions.empty()) PushUp(ring::MsgType::kCounters, 0, c);
}

void Lcore::OnTimers() {
  const absl::Time now = Now();
  std::vector<Call*> due;
  for (auto& [k, call] : calls_) {
    if (call->tls_.hs && call->tls_.hs->deadline() <= now) due.push_back(call);
    if (call->sm_ && !call->sm_->closed() && call->sm_->next_deadline() <= now) due.push_back(call);
    // Waiting for a handshake slot (AdmitWaiting) for too long.
    if (call->phase_ == Call::Phase::kTls && call->tls_.hs == nullptr &&
        call->hs_wait_since_ + kHandshakeWaitMax <= now && !call->tcp_closing_) {
      due.push_back(call);
    }
  }
  for (Call* call : due) {
    if (call->phase_ == Call::Phase::kTls && call->tls_.hs == nullptr) {
      if (call->tcp_closing_) continue;
      ++stats.tls_failed;
      Log("call from %s: no TLS handshake slot within %s", call->peer_,
          absl::FormatDuration(kHandshakeWaitMax));
      CloseTransport(call);
      continue;
    }
    if (call->tls_.hs) {
      call->tls_.hs->OnTimer(now);
      if (call->tls_.hs->state() == tls::HandshakeState::kFailed) {
        ++stats.tls_failed;
        Log("call from %s: TLS handshake: %s", call->peer_, call->tls_.hs->error().ToString());
        call->tls_.hs.reset();
        CloseTransport(call);
      }
      continue;
    }
    if (call->sm_ && !call->sm_->closed()) {
      call->sm_->OnTimer(now);
      AfterSm(call);
    }
  }
}

void Lcore::Poll(uint64_t now_ns) {
  if (crypto_ == nullptr) return;
  if (cfg_gen_ != srv_->shared_.gen.load(std::memory_order_relaxed)) ApplyConfig();
  int bell = srv_->up_doorbell_.load(std::memory_order_relaxed);
  if (bell != doorbell_) {
    doorbell_ = bell;
    up_.set_doorbell(bell);
  }
  unix_ns_ = uint64_t(absl::GetCurrentTimeNanos());
  ring::RecordHeader h;
  absl::Span<const uint8_t> payload;
  for (uint32_t n = 0; n < kDownBudget && down_.Peek(&h, &payload); ++n) {
    auto d = ring::Decode(h, payload);
    if (d.ok()) {
      HandleDown(*d);
    } else {
      Log("ring: worker %u: invalid record from the control plane: %s", w_->index,
          d.status().ToString());
    }
    down_.Release();
  }
  if (!hs_waiting_.empty()) AdmitWaiting();
  if (now_ns >= next_timer_ns_) {
    next_timer_ns_ = now_ns + kTimerPeriodNs;
    OnTimers();
  }
  if (now_ns >= next_counters_ns_) {
    next_counters_ns_ = now_ns + kCountersPeriodNs;
    SendCounters();
  }
  for (Call* c : graveyard_) delete c;
  graveyard_.clear();
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Server

Server::~Server() {
  stop_.store(true);
  if (control_.joinable()) control_.join();
  if (seg_.header() != nullptr) seg_.header()->dp_state.store(0);
  lcores_.clear();
}

absl::Status Server::Init() {
  // Never take the ring of another running data plane (Create truncates it): two instances on
  // one machine (tests running side by side) must use different --ring names. The second one runs
  // without the SSTP server and says why.
  if (auto other = ring::Segment::Attach(opts_.ring_name); other.ok()) {
    const uint32_t pid = other->header()->dp_pid.load();
    if (other->header()->dp_state.load() != 0 && pid != uint32_t(getpid()) &&
        other->DpAlive(ring::MonotonicNowNs()) && kill(pid_t(pid), 0) == 0) {
      Log("ring %s belongs to the running data plane pid %u: SSTP server disabled here "
          "(give this instance its own --ring NAME and --run-dir)",
          opts_.ring_name, pid);
      return absl::OkStatus();
    }
  }
  auto seg = ring::Segment::Create(opts_.ring_name,
                                   {.n_lcores = net_->n_workers, .ring_bytes = opts_.ring_bytes});
  if (!seg.ok()) return seg.status();
  seg_ = *std::move(seg);
  seg_.DpHeartbeat(uint32_t(getpid()), ring::MonotonicNowNs());
  auto bell = ring::Doorbell::Create();
  if (!bell.ok()) return bell.status();
  down_bell_ = *std::move(bell);
  self_signed_path_ = opts_.self_signed_path.empty() ? opts_.run_dir + "/dataplane-identity.pem"
                                                     : opts_.self_signed_path;
  if (opts_.certificate_file.empty()) {
    auto lc = tls::LcoreCrypto::Create();
    if (!lc.ok()) return lc.status();
    mkdir(opts_.run_dir.c_str(), 0700);
    auto id =
        tls::LoadOrCreateSelfSigned(**lc, self_signed_path_, "sstp-concentrator", absl::Now());
    if (!id.ok()) return id.status();
  }
  if (opts_.listen_port != 0) {
    shared_.cfg.enabled = 1;
    shared_.cfg.port = opts_.listen_port;
  } else {
    shared_.cfg.enabled = 0;
  }
  shared_.gen.store(1);
  for (uint32_t i = 0; i < net_->n_workers; ++i) {
    lcores_.push_back(std::make_unique<Lcore>(this, net_->workers[i]));
    net_->workers[i]->user = lcores_.back().get();
  }
  net_->hooks.ctx = this;
  net_->hooks.worker_start = [](Worker* w, void*) { static_cast<Lcore*>(w->user)->Start(); };
  net_->hooks.worker_stop = [](Worker* w, void*) { static_cast<Lcore*>(w->user)->Stop(); };
  net_->hooks.worker_poll = [](Worker* w, uint64_t now, void*) {
    static_cast<Lcore*>(w->user)->Poll(now);
  };
  net_->hooks.session_output = [](Worker* w, rte_mbuf* m, uint32_t session, void*) {
    static_cast<Lcore*>(w->user)->SessionOutput(m, session);
  };
  net_->hooks.bridge_input = [](Worker* w, rte_mbuf* m, uint16_t port, bool handed_off, void*) {
    static_cast<Lcore*>(w->user)->BridgeInput(m, port, handed_off);
  };
  net_->hooks.bridge_output = [](Worker* w, rte_mbuf* m, uint16_t port, void*) {
    return static_cast<Lcore*>(w->user)->BridgeOutput(m, port);
  };
  control_ = std::thread([this] { ControlLoop(); });
  Log("SSTP server: ring %s (%u lcores), control plane socket %s/ring.sock%s", opts_.ring_name,
      net_->n_workers, opts_.run_dir,
      opts_.listen_port ? absl::StrCat(", listening on ", opts_.listen_port, " until configured")
                        : std::string(", waiting for the control plane's configuration"));
  return absl::OkStatus();
}

// The control plane's up doorbell for our records, ours for its (we poll, but the exchange is
// what the control plane expects).
bool Server::ExchangeDoorbells() {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string path = opts_.run_dir + "/ring.sock";
  if (path.size() >= sizeof a.sun_path) {
    close(fd);
    return false;
  }
  memcpy(a.sun_path, path.c_str(), path.size());
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return false;
  }
  std::string tag;
  auto fds = ring::RecvFds(fd, &tag, 4);
  bool ok = fds.ok() && tag == "up" && !fds->empty();
  if (ok) {
    std::vector<int> mine(net_->n_workers, down_bell_.fd());
    ok = ring::SendFds(fd, "down", mine).ok();
    // The previous descriptor is left open: a worker may be writing to it right now.
    up_doorbell_.store((*fds)[0]);
    for (size_t i = 1; i < fds->size(); ++i) close((*fds)[i]);
  }
  close(fd);
  return ok;
}

void Server::ControlLoop() {
  uint64_t exchanged_epoch = 0;
  bool cp_was_ready = false;
  while (!stop_.load()) {
    const uint64_t now = ring::MonotonicNowNs();
    seg_.DpHeartbeat(uint32_t(getpid()), now);
    const uint64_t epoch = seg_.header()->cp_epoch.load();
    const bool ready = seg_.CpAcceptsSessions(now);
    if (epoch != 0 && epoch != exchanged_epoch &&
        seg_.header()->cp_state.load() != uint32_t(ring::CpState::kAbsent)) {
      if (ExchangeDoorbells()) {
        exchanged_epoch = epoch;
        Log("control plane (epoch %u): doorbells exchanged", epoch);
      }
    }
    if (ready != cp_was_ready) {
      Log(ready ? "control plane ready: accepting calls"
                : "control plane gone: new calls are refused, sessions keep forwarding");
      cp_was_ready = ready;
    }
    std::this_thread::sleep_for(std::chrono::nanoseconds(ring::kHeartbeatPeriodNs / 2));
  }
}

void ServerDeleter::operator()(Server* s) const { delete s; }

absl::StatusOr<ServerHandle> StartServer(Net* net, const ServerOptions& options) {
  ServerHandle s(new Server(net, options));
  absl::Status st = s->Init();
  if (!st.ok()) return st;
  return s;
}

absl::StatusOr<ServerOptions> ExtractServerArgs(std::vector<std::string>* args) {
  ServerOptions o;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args->size(); ++i) {
    std::string a = (*args)[i];
    std::string value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos && absl::StartsWith(a, "--")) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    auto next = [&]() -> absl::StatusOr<std::string> {
      if (has_value) return value;
      if (i + 1 >= args->size())
        return absl::InvalidArgumentError(absl::StrCat(a, " needs a value"));
      return (*args)[++i];
    };
    auto take = [&](std::string* out) -> absl::Status {
      auto v = next();
      if (!v.ok()) return v.status();
      *out = *v;
      return absl::OkStatus();
    };
    absl::Status s;
    if (a == "--ring") {
      s = take(&o.ring_name);
    } else if (a == "--run-dir") {
      s = take(&o.run_dir);
    } else if (a == "--sstp-certificate") {
      s = take(&o.certificate_file);
    } else if (a == "--sstp-key") {
      s = take(&o.private_key_file);
    } else if (a == "--sstp-self-signed") {
      s = take(&o.self_signed_path);
    } else if (a == "--sstp-ca") {
      s = take(&o.ca_file);
    } else if (a == "--sstp-strict-binding") {
      o.strict_binding = true;
    } else if (a == "--sstp-anonymous-tls") {
      o.anonymous_tls = true;
    } else if (a == "--sstp-accept-zero-hlak") {
      o.accept_zero_hlak = true;
    } else if (a == "--sstp-listen" || a == "--ring-bytes" || a == "--sstp-negotiation-timeout" ||
               a == "--sstp-down-queue" || a == "--sstp-max-handshakes") {
      std::string v;
      s = take(&v);
      uint32_t n;
      if (s.ok() && (!absl::SimpleAtoi(v, &n) || (a == "--sstp-listen" && (n == 0 || n > 65535)) ||
                     (a == "--sstp-max-handshakes" && (n == 0 || n > 65536)))) {
        s = absl::InvalidArgumentError(absl::StrCat(a, " ", v, ": not a valid number"));
      }
      if (s.ok()) {
        if (a == "--sstp-listen") {
          o.listen_port = uint16_t(n);
        } else if (a == "--sstp-negotiation-timeout") {
          o.negotiation_timeout_s = std::max<uint32_t>(n, 1);
        } else if (a == "--sstp-max-handshakes") {
          o.max_handshakes = n;
        } else if (a == "--sstp-down-queue") {
          o.down_queue_packets = std::min<uint32_t>(n, 65536);
        } else {
          o.ring_bytes = n;
        }
      }
    } else {
      rest.push_back((*args)[i]);
      continue;
    }
    if (!s.ok()) return s;
  }
  *args = std::move(rest);
  return o;
}

std::string ServerUsage() {
  return R"(SSTP server:
  --ring NAME               shared-memory ring with sstp-controlplane (default /sstp-ring)
  --run-dir DIR             the control plane's run directory, for ring.sock (default /run/sstp)
  --sstp-listen PORT        accept calls on PORT before the control plane sends its configuration
  --sstp-certificate FILE   PEM certificate (chain) used until the control plane names one
  --sstp-key FILE           its private key (default: in the certificate file)
  --sstp-self-signed FILE   self-signed identity kept here when no certificate is configured
                            (default <run-dir>/dataplane-identity.pem)
  --sstp-ca FILE            CA for require-client-certificate=yes
  --sstp-anonymous-tls      INSECURE: TLS 1.2 anonymous Diffie-Hellman, no certificates (only
                            when both ends are ours: sstp-client --anonymous-tls)
  --sstp-accept-zero-hlak   accept MS-CHAPv2 crypto binding computed with a zero HLAK
  --sstp-strict-binding     never forward before the client's CALL_CONNECTED (by default PAP/CHAP
                            calls without one, as sstpc 1.0.18 makes after CHAP, complete when IPCP is up)
  --sstp-negotiation-timeout SECS   HTTP + SSTP + PPP negotiation bound (default 60, MS-SSTP
                            3.3.2 TIMER_VAL_NEGOTIATION)
  --sstp-down-queue N       downstream packets held per session while the outer TCP send queue
                            is full (default 512; 0: drop at once); beyond it they are dropped
  --sstp-max-handshakes N   TLS handshakes in progress per lcore (default 256); further accepted
                            connections wait for a slot in order (up to 8192 per lcore, 30 s)
  --ring-bytes N            bytes per ring (power of two, default 1048576)
)";
}

}  // namespace srv
}  // namespace dp
