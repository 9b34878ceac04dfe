#include "dataplane/services.h"

#include <rte_mbuf.h>

#include <cstdio>
#include <vector>

#include "dataplane/net.h"

namespace dp {
namespace {

using tcp::CloseReason;
using tcp::Conn;
using tcp::Stack;

constexpr uint32_t kChunk = 1460;  // one MSS-sized mbuf per Send

// Builds one mbuf of the chargen stream from `offset`.
rte_mbuf* ChargenChunk(Worker* w, uint64_t offset, uint32_t len) {
  rte_mbuf* m = rte_pktmbuf_alloc(w->net->pool);
  if (m == nullptr) {
    ++w->c.mbuf_alloc_failed;
    return nullptr;
  }
  if (len > rte_pktmbuf_tailroom(m)) len = rte_pktmbuf_tailroom(m);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
  for (uint32_t i = 0; i < len; ++i) p[i] = ChargenByte(offset + i);
  return m;
}

// Sends chargen bytes [*offset, limit) until the stack refuses; true when the limit is reached.
bool PumpChargen(Worker* w, Conn* c, uint64_t* offset, uint64_t limit) {
  while (*offset < limit) {
    uint32_t space = w->tcp->SendSpace(c);
    uint64_t want = limit - *offset;
    uint32_t len = static_cast<uint32_t>(std::min<uint64_t>({want, kChunk, space ? space : 1}));
    rte_mbuf* m = ChargenChunk(w, *offset, len);
    if (m == nullptr) return false;
    len = rte_pktmbuf_pkt_len(m);
    // A refusal arms OnWritable, which is what we want when the queue is full.
    if (!w->tcp->Send(c, m, w->now_ns)) {
      rte_pktmbuf_free(m);
      return false;
    }
    *offset += len;
    w->c.svc_chargen_bytes += len;
  }
  return true;
}

void CountClose(Worker* w, CloseReason why) {
  ++w->c.svc_closed;
  if (why != CloseReason::kNormal) ++w->c.svc_closed_abnormal;
}

// Echo: what arrives goes back. The receive window is reopened (Consumed) only once the data
// is queued for sending, so a slow reader throttles the writer through TCP flow control.
// User pointer: the chain waiting for send space, low bit = peer closed.
class Echo : public tcp::Handler {
 public:
  explicit Echo(Worker* w) : w_(w) {}
  bool OnAccept(Conn* c) override {
    ++w_->c.svc_accepted;
    Stack::SetUser(c, nullptr);
    return true;
  }
  void OnData(Conn* c, rte_mbuf* data) override {
    uintptr_t u = reinterpret_cast<uintptr_t>(Stack::GetUser(c));
    auto* pending = reinterpret_cast<rte_mbuf*>(u & ~uintptr_t{1});
    if (pending != nullptr) {
      if (rte_pktmbuf_chain(pending, data) != 0) {  // too many segments: give up on the peer
        rte_pktmbuf_free(data);
        w_->tcp->Abort(c, w_->now_ns);
      }
      return;
    }
    Flush(c, data, u & 1);
  }
  void OnWritable(Conn* c) override {
    uintptr_t u = reinterpret_cast<uintptr_t>(Stack::GetUser(c));
    auto* pending = reinterpret_cast<rte_mbuf*>(u & ~uintptr_t{1});
    Stack::SetUser(c, reinterpret_cast<void*>(u & 1));
    if (pending != nullptr) Flush(c, pending, u & 1);
  }
  void OnPeerClosed(Conn* c) override {
    uintptr_t u = reinterpret_cast<uintptr_t>(Stack::GetUser(c));
    if ((u & ~uintptr_t{1}) == 0) {
      w_->tcp->Close(c, w_->now_ns);
    } else {
      Stack::SetUser(c, reinterpret_cast<void*>(u | 1));
    }
  }
  void OnClosed(Conn* c, CloseReason why) override {
    uintptr_t u = reinterpret_cast<uintptr_t>(Stack::GetUser(c));
    if (auto* pending = reinterpret_cast<rte_mbuf*>(u & ~uintptr_t{1})) rte_pktmbuf_free(pending);
    Stack::SetUser(c, nullptr);
    CountClose(w_, why);
  }

 private:
  void Flush(Conn* c, rte_mbuf* data, bool peer_closed) {
    uint32_t len = rte_pktmbuf_pkt_len(data);
    if (w_->tcp->Send(c, data, w_->now_ns)) {
      w_->c.svc_echo_bytes += len;
      w_->tcp->Consumed(c, len, w_->now_ns);
      Stack::SetUser(c, nullptr);
      if (peer_closed) w_->tcp->Close(c, w_->now_ns);
    } else {
      Stack::SetUser(c, reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(data) | peer_closed));
    }
  }
  Worker* w_;
};

class Discard : public tcp::Handler {
 public:
  explicit Discard(Worker* w) : w_(w) {}
  bool OnAccept(Conn* c) override {
    ++w_->c.svc_accepted;
    return true;
  }
  void OnData(Conn* c, rte_mbuf* data) override {
    uint32_t len = rte_pktmbuf_pkt_len(data);
    rte_pktmbuf_free(data);
    w_->c.svc_discard_bytes += len;
    w_->tcp->Consumed(c, len, w_->now_ns);
  }
  void OnPeerClosed(Conn* c) override { w_->tcp->Close(c, w_->now_ns); }
  void OnClosed(Conn* c, CloseReason why) override { CountClose(w_, why); }

 private:
  Worker* w_;
};

// Chargen: sends the stream until the peer closes; what the peer sends is discarded.
// User pointer: the stream offset.
class Chargen : public tcp::Handler {
 public:
  explicit Chargen(Worker* w) : w_(w) {}
  bool OnAccept(Conn* c) override {
    ++w_->c.svc_accepted;
    Stack::SetUser(c, nullptr);
    OnWritable(c);
    return true;
  }
  void OnData(Conn* c, rte_mbuf* data) override {
    uint32_t len = rte_pktmbuf_pkt_len(data);
    rte_pktmbuf_free(data);
    w_->tcp->Consumed(c, len, w_->now_ns);
  }
  void OnWritable(Conn* c) override {
    uint64_t off = reinterpret_cast<uintptr_t>(Stack::GetUser(c));
    PumpChargen(w_, c, &off, UINT64_MAX);
    Stack::SetUser(c, reinterpret_cast<void*>(static_cast<uintptr_t>(off)));
  }
  void OnPeerClosed(Conn* c) override { w_->tcp->Close(c, w_->now_ns); }
  void OnClosed(Conn* c, CloseReason why) override { CountClose(w_, why); }

 private:
  Worker* w_;
};

// The client role: connect, send `total` chargen bytes, close.
struct ClientConn {
  uint64_t sent = 0, total = 0;
  bool closing = false;
};

class Client : public tcp::Handler {
 public:
  explicit Client(Worker* w) : w_(w) {}
  void OnConnected(Conn* c) override {
    ++w_->c.svc_connect_established;
    OnWritable(c);
  }
  void OnData(Conn* c, rte_mbuf* data) override {
    uint32_t len = rte_pktmbuf_pkt_len(data);
    rte_pktmbuf_free(data);
    w_->tcp->Consumed(c, len, w_->now_ns);
  }
  void OnWritable(Conn* c) override {
    auto* cc = static_cast<ClientConn*>(Stack::GetUser(c));
    if (cc == nullptr || cc->closing) return;
    if (PumpChargen(w_, c, &cc->sent, cc->total)) {
      cc->closing = true;
      w_->tcp->Close(c, w_->now_ns);
    }
  }
  void OnPeerClosed(Conn* c) override {
    auto* cc = static_cast<ClientConn*>(Stack::GetUser(c));
    if (cc != nullptr && cc->closing) return;
    if (cc != nullptr) cc->closing = true;
    w_->tcp->Close(c, w_->now_ns);
  }
  void OnClosed(Conn* c, CloseReason why) override {
    auto* cc = static_cast<ClientConn*>(Stack::GetUser(c));
    CountClose(w_, why);
    if (cc != nullptr && why == CloseReason::kNormal && cc->sent == cc->total) {
      ++w_->c.svc_connect_done;
    }
    fprintf(stderr, "sstp-dataplane: connection closed (%s), %lu of %lu bytes sent\n",
            tcp::CloseReasonName(why), cc ? static_cast<unsigned long>(cc->sent) : 0ul,
            cc ? static_cast<unsigned long>(cc->total) : 0ul);
  }

 private:
  Worker* w_;
};

struct Services {
  explicit Services(Worker* w) : echo(w), discard(w), chargen(w), client(w) {}
  Echo echo;
  Discard discard;
  Chargen chargen;
  Client client;
  std::vector<ClientConn> clients;
};

// Source address towards `dst`: the address of the outgoing port in the next hop's prefix.
uint32_t SourceAddressFor(const Net& net, uint32_t dst) {
  const NextHop* nh = net.fib->Lookup(dst);
  if (nh == nullptr) return 0;
  const Port& port = net.ports[nh->port];
  uint32_t via = nh->gateway ? nh->gateway : dst;
  for (uint16_t i = 0; i < port.n_addrs; ++i) {
    if (port.addrs[i].Contains(via)) return port.addrs[i].addr;
  }
  return port.PrimaryAddress();
}

}  // namespace

void ServicesStart(Worker* w) {
  auto* s = new Services(w);
  w->services = s;
  for (const ServiceConfig& sc : w->net->cfg.services) {
    tcp::Handler* h = &s->chargen;
    if (sc.kind == ServiceConfig::kEcho) h = &s->echo;
    if (sc.kind == ServiceConfig::kDiscard) h = &s->discard;
    absl::Status st = w->tcp->Listen(0, sc.port, h);
    if (!st.ok()) {
      fprintf(stderr, "sstp-dataplane: listen on port %u: %s\n", sc.port,
              std::string(st.message()).c_str());
    }
  }
  // Each --connect is opened by the worker that owns its tuple: pick a source port that hashes to
  // this worker so that the replies come back here.
  s->clients.resize(w->net->cfg.connects.size());
  for (size_t i = 0; i < w->net->cfg.connects.size(); ++i) {
    const ConnectConfig& cc = w->net->cfg.connects[i];
    if (i % w->net->n_workers != w->index) continue;
    uint32_t src = SourceAddressFor(*w->net, cc.remote_addr);
    if (src == 0) {
      fprintf(stderr, "sstp-dataplane: connect %s: no route\n", FormatIpv4(cc.remote_addr).c_str());
      continue;
    }
    uint16_t sport = 0;
    for (uint32_t p = 40000 + static_cast<uint32_t>(i) * 7; p < 65000; ++p) {
      if (TupleOwner(*w->net, cc.remote_addr, src, cc.remote_port, static_cast<uint16_t>(p)) ==
          w->index) {
        sport = static_cast<uint16_t>(p);
        break;
      }
    }
    s->clients[i].total = cc.bytes;
    ++w->c.svc_connect_started;
    absl::StatusOr<Conn*> c = w->tcp->Connect(src, sport, cc.remote_addr, cc.remote_port,
                                              &s->client, &s->clients[i], w->now_ns);
    if (!c.ok()) {
      fprintf(stderr, "sstp-dataplane: connect %s:%u: %s\n", FormatIpv4(cc.remote_addr).c_str(),
              cc.remote_port, std::string(c.status().message()).c_str());
    }
  }
}

void ServicesStop(Worker* w) {
  // No new connections while shutting down. The stack (destroyed right after) calls
  // OnClosed(kShutdown) on each open one, so the handlers are freed later (ServicesFree).
  for (const ServiceConfig& sc : w->net->cfg.services) (void)w->tcp->Unlisten(0, sc.port);
}

void ServicesFree(Worker* w) {
  delete static_cast<Services*>(w->services);
  w->services = nullptr;
}

}  // namespace dp
