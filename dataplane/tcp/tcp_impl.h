// StackImpl: the per-lcore TCP stack behind tcp.h. One file per concern implements it:
//   tcp.cc (API, lifecycle), tcp_table.cc (4-tuple hash, connection slots, TIME_WAIT table),
//   tcp_input.cc (RFC 9293 3.10.7 segment arrival), tcp_output.cc (segment building, sending),
//   tcp_timer.cc (RTO, delayed ACK, persist, keepalive, FIN_WAIT_2), tcp_cubic.cc (RFC 8312),
//   tcp_sack.cc (RFC 2018 blocks, RFC 6675 scoreboard and pipe), tcp_syncookie.cc (SYN cookies,
//   RFC 6528 ISNs).
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/tcp/siphash.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/tcp/tcp_conn.h"
#include "dataplane/tcp/tcp_parse.h"
#include "dataplane/tcp/tcp_seq.h"
#include "dataplane/tcp/timer_wheel.h"

namespace dp::tcp {

// A parsed incoming segment; m points at the payload (pkt_len = payload bytes).
struct Segment {
  TcpHeader h;
  TcpOptions o;
  rte_mbuf* m;
  uint32_t src_ip, dst_ip;
  uint32_t len;  // payload bytes
  uint32_t seq_len() const { return len + ((h.flags & kSyn) ? 1 : 0) + ((h.flags & kFin) ? 1 : 0); }
};

struct Listener {
  uint32_t ip;
  uint16_t port;
  bool live;
  Handler* handler;
  void* user;
};

class StackImpl {
 public:
  explicit StackImpl(const StackConfig& cfg);
  ~StackImpl();
  absl::Status Init();

  // tcp.cc
  void Input(rte_mbuf* m, uint64_t now_ns);
  void EndBurst(uint64_t now_ns);
  void OnTimer(uint64_t now_ns);
  uint64_t NextTimerNs() const;
  absl::Status Listen(uint32_t ip, uint16_t port, Handler* h, void* user);
  absl::Status Unlisten(uint32_t ip, uint16_t port);
  absl::StatusOr<Conn*> Connect(uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
                                uint16_t dst_port, Handler* h, void* user, uint64_t now_ns);
  uint32_t SendSpace(const Conn* c) const;
  void RequestWritable(Conn* c);
  bool Send(Conn* c, rte_mbuf* data, uint64_t now_ns);
  void Consumed(Conn* c, uint32_t bytes, uint64_t now_ns);
  void Close(Conn* c, uint64_t now_ns);
  void Abort(Conn* c, uint64_t now_ns);
  void SetKeepalive(Conn* c, uint32_t idle_ms, uint64_t now_ns);
  ConnStats GetStats(const Conn* c) const;
  void* ListenerUser(const Conn* c) const;

  const StackCounters& counters() const { return counters_; }
  uint32_t conn_count() const { return conns_used_; }
  uint32_t time_wait_count() const { return tw_live_; }
  uint64_t queued_bytes() const { return queued_bytes_; }
  uint64_t table_memory_bytes() const;

  // --- shared between the concern files ---
  void SetTime(uint64_t now_ns);
  uint32_t now_ms() const { return now_ms32_; }

  // tcp_table.cc
  Conn* AllocConn();
  void FreeConn(Conn* c);  // back to the slot pool (after reaping)
  bool HashInsert(Conn* c);
  void HashRemove(Conn* c);
  Conn* LookupConn(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport, TimeWait** tw);
  TimeWait* TimeWaitInsert(const Conn* c);
  void TimeWaitRemove(TimeWait* tw);
  void TimeWaitExpire();
  const Listener* FindListener(uint32_t ip, uint16_t port) const;

  // tcp_input.cc
  void ListenInput(const Listener* l, uint16_t listener_idx, Segment& s);
  void SynSentInput(Conn* c, Segment& s);
  void ConnInput(Conn* c, Segment& s);
  void TimeWaitInput(TimeWait* tw, Segment& s);
  bool ProcessAck(Conn* c, Segment& s);  // false: drop the rest
  void ProcessData(Conn* c, Segment& s);
  void ProcessFin(Conn* c);
  void DeliverInOrder(Conn* c, rte_mbuf* m, uint32_t len);
  void OooInsert(Conn* c, Segment& s);
  void OooPull(Conn* c);
  void ApplySynOptions(Conn* c, const TcpOptions& o);
  void EnterTimeWait(Conn* c);
  void Established(Conn* c);
  bool ChallengeAck(Conn* c);
  void TimeWaitAck(const TimeWait* tw);
  bool VerifyChecksum(rte_mbuf* m, uint32_t ihl, uint32_t tcp_len, uint32_t src, uint32_t dst);

  // tcp_output.cc
  rte_mbuf* NewSegment(uint32_t src_ip, uint32_t dst_ip, const TcpHeader& h, const TcpOptions& o,
                       uint32_t payload_len, uint8_t** payload);
  void FinishSegment(rte_mbuf* m, uint32_t dst_ip);
  void SendAck(Conn* c);
  void SendSynAck(Conn* c, uint32_t tsval);
  void SendSyn(Conn* c);
  void SendRstForSegment(const Segment& s);
  void SendRst(Conn* c);
  void SendData(Conn* c, uint32_t seq, uint32_t len, bool fin, bool retransmit);
  void Output(Conn* c);
  void OutputAfterAck(Conn* c);
  bool RetransmitOne(Conn* c, uint32_t seq);
  void FillOptions(Conn* c, TcpOptions* o, bool syn);
  uint16_t AdvertiseWindow(Conn* c);
  uint32_t RcvWindowAvail(const Conn* c) const;
  void ScheduleAck(Conn* c);  // ACK at end of burst
  void CopyOut(Conn* c, uint32_t offset, uint32_t len, uint8_t* dst);
  void TrimSendQueue(Conn* c, uint32_t acked_bytes);
  void ResetSendCursor(Conn* c);
  void FreeQueues(Conn* c);

  // tcp_timer.cc
  void ArmTimer(Conn* c);
  void ConnTimer(Conn* c);
  void ArmRto(Conn* c);
  void StopRto(Conn* c);
  void RtoExpired(Conn* c);
  void PersistExpired(Conn* c);
  void RttSample(Conn* c, uint32_t rtt_us);
  void StartKeepalive(Conn* c);

  // tcp_cubic.cc
  void CcInit(Conn* c);
  void CcOnAck(Conn* c, uint32_t acked);
  void CcOnLoss(Conn* c);  // fast retransmit
  void CcOnRto(Conn* c);

  // tcp_sack.cc
  void SackUpdate(Conn* c, const TcpOptions& o);
  void SackTrim(Conn* c);
  uint32_t SackedBytes(const Conn* c) const;
  uint32_t HighestSacked(const Conn* c) const;
  uint32_t Pipe(const Conn* c) const;
  bool NextHole(const Conn* c, uint32_t* seq, uint32_t* len) const;
  int BuildSackBlocks(Conn* c, SackBlock* out, int max) const;

  // tcp_syncookie.cc
  uint32_t Isn(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport) const;
  uint32_t CookieIsn(const Segment& s, uint16_t mss_in) const;
  bool CookieCheck(const Segment& s, uint16_t* mss_out) const;

  // Connection end: OnClosed, unhash, queue for reaping.
  void CloseConn(Conn* c, CloseReason why, bool notify = true);
  void Reap();

  OooMeta* Meta(rte_mbuf* m) const;

  StackConfig cfg_;
  StackCounters counters_ = {};
  uint64_t now_ns_ = 0;
  uint64_t now_ms64_ = 0;
  uint32_t now_ms32_ = 0;
  uint32_t now_us_ = 0;
  TimerWheel wheel_;
  SipKey isn_key_, cookie_key_;
  uint64_t hash_seed_ = 0;
  int ooo_dynfield_ = -1;
  uint8_t our_wscale_ = 0;
  uint16_t ip_id_ = 0;

  // Connection slots: one mapping, touched as the high-water mark grows.
  Conn* conns_ = nullptr;
  size_t conns_map_bytes_ = 0;
  uint32_t conns_hwm_ = 0;
  uint32_t conns_used_ = 0;
  uint32_t half_open_ = 0;
  Conn* free_list_ = nullptr;  // linked through timer.next
  Conn* dead_list_ = nullptr;  // closed, reaped at the end of the entry point

  // 4-tuple hash: open addressing, linear probing. Slot = {tag, ref}; ref 0 empty,
  // ref > 0: conn index + 1, bit 31 set: TIME_WAIT index.
  struct Slot {
    uint32_t tag;
    uint32_t ref;
  };
  Slot* slots_ = nullptr;
  size_t slots_map_bytes_ = 0;
  uint32_t slot_mask_ = 0;

  // TIME_WAIT: a FIFO ring in expiry order (all entries live time_wait_ms).
  TimeWait* tw_ = nullptr;
  size_t tw_map_bytes_ = 0;
  uint32_t tw_cap_ = 0, tw_head_ = 0, tw_count_ = 0, tw_hwm_ = 0, tw_live_ = 0;

  std::vector<Listener> listeners_;
  std::vector<Handler*> handlers_;  // Conn::handler indexes this
  Handler* H(const Conn* c) const { return handlers_[c->handler]; }
  uint16_t HandlerIndex(Handler* h);
  uint64_t queued_bytes_ = 0;
  uint32_t challenge_window_ms_ = 0, challenge_count_ = 0;

  std::vector<Conn*> ack_list_;
  uint32_t sack_recent_ = 0;  // seq of the out-of-order segment that triggered this ACK
  bool sack_recent_valid_ = false;
};

inline StackImpl* Impl(Stack* s) { return s->impl(); }

}  // namespace dp::tcp
