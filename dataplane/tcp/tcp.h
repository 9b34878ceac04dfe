// Userspace TCP for the data plane (RFC 9293 and friends): the interface the network layer and the
// upper layers (TLS/SSTP, the echo/discard/chargen services, the load generator) use.
//
// One dp::tcp::Stack per worker lcore, share-nothing, no locks. Everything here is called from the
// owning lcore only.
//
// How the network layer drives a Stack (per lcore, per loop iteration):
//   now = TSC converted to nanoseconds (any monotonic ns clock; tests script it);
//   for each validated IPv4 packet whose protocol is TCP:
//     stack->Input(m, now);        // m->data_off at the IPv4 header; header and total length
//                                  // already validated; ownership passes to the stack
//   stack->EndBurst(now);          // sends coalesced ACKs, flushes drop counters
//   if (now >= stack->NextTimerNs()) stack->OnTimer(now);   // or simply call it every iteration
// The stack sends by building TCP+IPv4 headers in an mbuf (data_off at the IPv4 header, checksums
// filled in software, l2_len = 0, l3_len/l4_len set) and calling IpOutput::fn, which routes,
// resolves ARP, prepends Ethernet and queues for TX. Ownership of the mbuf passes to the hook.
// Segments leave the stack with at least kTcpHeadroom bytes of headroom in front of the IPv4
// header.
//
// How an upper layer uses it:
//   stack->Listen(ip, port, &handler)              // handler->OnAccept for each new connection
//   stack->Connect(src_ip, 0, dst_ip, dst_port, &handler, user, now)   // active open
//   handler->OnData(conn, chain): in-order payload as an mbuf chain (data_off at payload, pkt_len =
//     bytes); ownership passes to the handler. The receive window stays closed by the bytes handed
//     over until the handler calls stack->Consumed(conn, n) (flow control, RFC 9293 3.8.6).
//   stack->Send(conn, chain, now): queue a chain; refused (false, ownership kept by the caller)
//   when
//     SendSpace(conn) == 0. Handler::OnWritable fires when space returns after a refusal.
//   stack->Close(conn, now) sends FIN after the queued data; stack->Abort(conn, now) sends RST.
//   Handler::OnClosed(conn, reason) is the last callback; the Conn* is invalid after it returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct rte_mbuf;
struct rte_mempool;

namespace dp::tcp {

// Bytes of headroom the stack leaves in front of the IPv4 header of every segment it emits, enough
// for Ethernet + two 802.1Q tags.
inline constexpr uint16_t kTcpHeadroom = 64;

// The connection. Its layout is private (tcp_conn.h); at most 256 bytes without buffers.
struct Conn;

enum class State : uint8_t {
  kClosed = 0,
  kListen,
  kSynSent,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kCloseWait,
  kClosing,
  kLastAck,
  kTimeWait,
};
const char* StateName(State s);

enum class CloseReason : uint8_t {
  kNormal = 0,        // both FINs exchanged and acknowledged (or Close() + FIN_WAIT_2 timeout)
  kReset,             // peer sent a valid RST
  kRefused,           // active open answered with RST
  kTimeout,           // retransmission limit reached (RFC 9293 3.8.3 R2)
  kKeepaliveTimeout,  // keepalive probes unanswered
  kAborted,           // local Abort()
  kNoMemory,          // memory limit hit on a connection that could not make progress
  kShutdown,          // Stack destroyed
};
const char* CloseReasonName(CloseReason r);

// Upper-layer callbacks. One Handler may serve many connections; per-connection context is the
// user pointer (SetUser/GetUser). All callbacks run on the owning lcore from inside Input(),
// EndBurst(), OnTimer() or the API call that caused them. A handler may call Send/Close/Abort/
// Consumed on the connection from inside any callback.
class Handler {
 public:
  virtual ~Handler() = default;
  // Passive open: the three-way handshake completed on a listener. Return false to refuse (the
  // stack answers RST and frees the connection without OnClosed).
  virtual bool OnAccept(Conn* c) { return true; }
  // Active open: SYN-ACK received, connection ESTABLISHED.
  virtual void OnConnected(Conn* c) {}
  // In-order payload. Ownership of `data` passes to the handler (free it with rte_pktmbuf_free).
  virtual void OnData(Conn* c, rte_mbuf* data) = 0;
  // Send() was refused earlier and SendSpace() is now at least half the send buffer.
  virtual void OnWritable(Conn* c) {}
  // The peer sent FIN: no more data will arrive (state CLOSE_WAIT or later). Call Close() when
  // done.
  virtual void OnPeerClosed(Conn* c) {}
  // Last callback for the connection; `c` is freed after it returns.
  virtual void OnClosed(Conn* c, CloseReason why) {}
};

// Transmit hook provided by the network layer.
struct IpOutput {
  // m: a complete IPv4 packet (data_off at the IPv4 header). dst_ip: host byte order.
  void (*fn)(void* ctx, rte_mbuf* m, uint32_t dst_ip) = nullptr;
  void* ctx = nullptr;
};

enum class SynCookieMode : uint8_t {
  kNever,          // drop SYNs when the SYN queue is full
  kUnderPressure,  // SYN queue first; cookies once it is full (default)
  kAlways,         // stateless SYN-ACK for every SYN
};

struct StackConfig {
  rte_mempool* pool = nullptr;  // for segments the stack builds (ACKs, RST, data copies)
  IpOutput output;
  int socket_id = -1;            // NUMA socket for tables (-1: any)
  uint32_t max_conns = 1 << 16;  // connection slots (full state, 256 B each, touched lazily)
  uint32_t max_time_wait =
      1 << 16;                  // compact TIME_WAIT entries (32 B each); oldest reused when full
  uint32_t syn_backlog = 1024;  // half-open connections kept as state (SYN queue)
  SynCookieMode syn_cookies = SynCookieMode::kUnderPressure;
  uint32_t snd_buf = 256 * 1024;    // per-connection send queue limit, bytes
  uint32_t rcv_buf = 256 * 1024;    // per-connection receive window (unconsumed + out of order)
  uint64_t mem_limit = 1ull << 30;  // global payload bytes held in send + out-of-order queues
  uint16_t mss = 1460;              // our MSS (RFC 9293 3.7.1), advertised in SYN/SYN-ACK
  bool window_scaling = true;       // RFC 7323 2
  bool timestamps = true;           // RFC 7323 3-5
  bool sack = true;                 // RFC 2018 / 6675
  uint32_t ooo_max_segs = 64;       // out-of-order queue bound, segments per connection
  uint32_t delack_ms = 40;          // delayed ACK timer (RFC 9293 3.8.6.3 says < 500 ms)
  uint32_t rto_initial_ms = 1000;   // RFC 6298 2.1
  uint32_t rto_min_ms = 200;        // RFC 6298 2.4 says 1 s; 200 ms as Linux
  uint32_t rto_max_ms = 60000;
  uint32_t max_retries = 12;       // R2 (RFC 9293 3.8.3) for established connections
  uint32_t syn_retries = 6;        // R2 for SYN / SYN-ACK
  uint32_t time_wait_ms = 60000;   // 2*MSL
  uint32_t fin_wait2_ms = 60000;   // orphan FIN_WAIT_2 bound after Close()
  uint32_t keepalive_idle_ms = 0;  // 0: keepalive off by default (RFC 9293 3.8.4); per-conn too
  uint32_t keepalive_intvl_ms = 75000;
  uint32_t keepalive_probes = 9;
  uint32_t challenge_ack_limit = 1000;  // RFC 5961 7: challenge ACKs per second per stack
  uint16_t ephemeral_lo = 32768, ephemeral_hi = 60999;
  uint8_t isn_secret[16] = {};  // RFC 6528 key; all zero: random at Create()
};

// Stack-wide counters (events and drops), see tcp_counters.def for the list and meaning.
struct StackCounters {
#define TCP_COUNTER(name, desc) uint64_t name;
#include "dataplane/tcp/tcp_counters.def"
#undef TCP_COUNTER
};

// Per-connection counters.
struct ConnStats {
  uint64_t bytes_in;   // payload delivered in order
  uint64_t bytes_out;  // payload acknowledged by the peer
  uint32_t segs_retransmitted;
  uint32_t srtt_us;
  uint32_t cwnd;
  uint32_t snd_wnd;
  uint32_t rcv_wnd;
  uint32_t queued;  // bytes in the send queue (unacked + unsent)
  State state;
};

struct Tuple {  // host byte order
  uint32_t local_ip, remote_ip;
  uint16_t local_port, remote_port;
};

class StackImpl;

class Stack {
 public:
  static absl::StatusOr<std::unique_ptr<Stack>> Create(const StackConfig& config);
  ~Stack();  // aborts nothing on the wire; frees every connection (OnClosed kShutdown)
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // --- network layer ---
  // A TCP segment inside a validated IPv4 packet: m->data_off at the IPv4 header, IPv4 header
  // checksum and total length already checked (the stack trims bytes beyond total length). The
  // stack verifies the TCP checksum unless m->ol_flags says RTE_MBUF_F_RX_L4_CKSUM_GOOD.
  // Takes ownership.
  void Input(rte_mbuf* m, uint64_t now_ns);
  // End of an RX burst: sends the ACKs that Input() coalesced, flushes counters.
  void EndBurst(uint64_t now_ns);
  // Runs expired timers (retransmission, delayed ACK, persist, keepalive, TIME_WAIT, ...).
  void OnTimer(uint64_t now_ns);
  // Earliest time OnTimer() has work to do (ns); UINT64_MAX when nothing is armed.
  uint64_t NextTimerNs() const;

  // --- upper layer ---
  // Passive open on ip:port (ip 0: any local address).
  absl::Status Listen(uint32_t ip, uint16_t port, Handler* handler, void* listener_user = nullptr);
  absl::Status Unlisten(uint32_t ip, uint16_t port);
  // Active open. src_port 0 picks a free ephemeral port. The SYN goes out at once.
  absl::StatusOr<Conn*> Connect(uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
                                uint16_t dst_port, Handler* handler, void* user, uint64_t now_ns);
  // Bytes Send() accepts now (0 when the send queue is full or the connection cannot send).
  uint32_t SendSpace(const Conn* c) const;
  // Queue `data` (chain, data_off at payload) for sending. True: ownership taken. False: refused
  // (no space, memory limit, or not in a state that sends); the caller keeps `data` and gets
  // OnWritable() once space returns.
  bool Send(Conn* c, rte_mbuf* data, uint64_t now_ns);
  // Ask for OnWritable() once SendSpace() is at least half the send buffer, without a refused
  // Send(): for an upper layer that holds data back itself (the SSTP server's per-session queue of
  // packets not yet sealed). No effect on a connection that can no longer send.
  void RequestWritable(Conn* c);
  // The handler is done with `bytes` of delivered payload: reopens the receive window.
  void Consumed(Conn* c, uint32_t bytes, uint64_t now_ns);
  // Graceful close: FIN after the queued data (RFC 9293 3.10.4).
  void Close(Conn* c, uint64_t now_ns);
  // Abortive close: RST now, OnClosed(kAborted).
  void Abort(Conn* c, uint64_t now_ns);
  // Per-connection keepalive (0 disables).
  void SetKeepalive(Conn* c, uint32_t idle_ms, uint64_t now_ns);

  static void SetUser(Conn* c, void* user);
  static void* GetUser(const Conn* c);
  void* GetListenerUser(const Conn* c) const;  // listener_user of the accepting listener
  static Tuple GetTuple(const Conn* c);
  static State GetState(const Conn* c);
  ConnStats GetStats(const Conn* c) const;

  const StackCounters& counters() const;
  uint32_t conn_count() const;       // full connections in use (incl. SYN_RECEIVED)
  uint32_t time_wait_count() const;  // compact TIME_WAIT entries in use
  uint64_t queued_bytes() const;     // payload bytes held in send + out-of-order queues
  // Bytes of memory owned by the stack's tables (connections touched so far, hash, TIME_WAIT).
  uint64_t table_memory_bytes() const;

  StackImpl* impl() { return impl_.get(); }

 private:
  explicit Stack(std::unique_ptr<StackImpl> impl);
  std::unique_ptr<StackImpl> impl_;
};

}  // namespace dp::tcp
