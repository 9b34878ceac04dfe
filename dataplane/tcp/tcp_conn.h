// The connection state (private to the stack). Hot input fields first; each field names the RFC
// variable it implements. At most 256 bytes without buffers (static_assert below): the send queue
// and the out-of-order queue are mbuf chains, so an idle connection holds no buffers.
#pragma once

#include <cstdint>

#include "dataplane/tcp/tcp.h"
#include "dataplane/tcp/tcp_parse.h"
#include "dataplane/tcp/timer_wheel.h"

namespace dp::tcp {

enum ConnFlag : uint16_t {
  kFlagTs = 1 << 0,          // timestamps negotiated (RFC 7323 3.2)
  kFlagSack = 1 << 1,        // SACK-permitted negotiated (RFC 2018)
  kFlagAckNow = 1 << 2,      // an ACK is owed at the end of the burst
  kFlagDelAck = 1 << 3,      // delayed ACK timer armed (delack_deadline)
  kFlagFinQueued = 1 << 4,   // Close() called: FIN after the queued data
  kFlagFinSent = 1 << 5,     // our FIN has a sequence number (snd_max covers it)
  kFlagRecovery = 1 << 6,    // in fast recovery (RFC 6675 / RFC 6582)
  kFlagRto = 1 << 7,         // retransmission timer armed (rto_deadline)
  kFlagPersist = 1 << 8,     // rto_deadline is the persist (zero window probe) timer
  kFlagKeepalive = 1 << 9,   // aux_deadline is the keepalive timer
  kFlagOnAckList = 1 << 10,  // queued for EndBurst()
  kFlagWantWritable = 1 << 11,
  kFlagRttTiming = 1 << 12,      // rtt_seq/rtt_start time a segment (Karn, RFC 6298 3)
  kFlagPassive = 1 << 13,        // created by a listener
  kFlagFinWait2Timer = 1 << 14,  // aux_deadline bounds FIN_WAIT_2
  kFlagDead = 1 << 15,           // closed, waiting to be reaped
};

struct Conn {
  // --- lookup and input (cache line 0) ---
  TimerNode timer;  // one wheel node: fires at the earliest armed deadline
  uint32_t local_ip, remote_ip;
  uint16_t local_port, remote_port;
  State state;
  uint8_t snd_wscale;  // RFC 7323 Snd.Wind.Shift
  uint8_t rcv_wscale;  // RFC 7323 Rcv.Wind.Shift
  uint8_t dupacks;     // RFC 5681 duplicate ACK count
  uint16_t flags;
  uint16_t snd_mss;     // effective send MSS (payload bytes, options subtracted)
  uint32_t snd_una;     // RFC 9293 SND.UNA
  uint32_t snd_nxt;     // SND.NXT (rewound to snd_una on RTO)
  uint32_t snd_max;     // highest sequence number sent + 1
  uint32_t snd_wnd;     // SND.WND, scaled, bytes
  uint32_t snd_wl1;     // SND.WL1 (segment sequence of the last window update)
  uint32_t rcv_nxt;     // RCV.NXT
  uint32_t rcv_adv;     // right edge of the window we advertised (never shrinks)
  uint32_t rcv_acked;   // RCV.NXT carried by our last ACK (RFC 7323 Last.ACK.sent)
  uint32_t rcv_unread;  // delivered to the handler and not yet Consumed()
  uint32_t ts_recent;   // RFC 7323 TS.Recent
  // --- congestion control and RTT (cache line 1) ---
  uint32_t cwnd;  // RFC 5681 cwnd, bytes
  uint32_t ssthresh;
  uint32_t recover;    // RFC 6582 / RFC 6675 RecoveryPoint
  uint32_t high_rxt;   // RFC 6675 HighRxt
  uint32_t srtt_us;    // RFC 6298 SRTT
  uint32_t rttvar_us;  // RFC 6298 RTTVAR
  uint32_t rto_ms;     // RFC 6298 RTO (before backoff)
  uint32_t rtt_seq;    // sequence number being timed (Karn)
  uint32_t rtt_start_us;
  uint32_t cubic_w_max;     // RFC 8312 W_max, bytes (also the origin point of the epoch)
  uint32_t cubic_w_est;     // RFC 8312 W_est (TCP-friendly region), bytes
  uint32_t cubic_epoch_ms;  // start of the current congestion avoidance epoch (0: none)
  float cubic_k;            // RFC 8312 K, seconds
  SackBlock sacked[3];      // RFC 6675 scoreboard: SACKed ranges above snd_una, sorted
  // --- timers ---
  uint32_t rto_deadline;  // retransmission or persist deadline, ms
  uint32_t delack_deadline;
  uint32_t aux_deadline;  // keepalive or FIN_WAIT_2
  uint32_t last_rx_ms;    // for keepalive idle time
  uint16_t keepalive_idle_s;
  uint8_t backoff;       // RTO / persist backoff exponent
  uint8_t probes;        // keepalive probes outstanding
  uint16_t listener;     // index of the accepting listener
  uint16_t snd_cur_off;  // offset of snd_nxt within snd_cur
  uint32_t retransmits;
  uint8_t ooo_segs;
  uint8_t syn_retries;
  uint16_t handler;  // index into the stack's handler table
  // --- queues ---
  rte_mbuf* snd_head;  // send queue from snd_una (segments linked by next)
  rte_mbuf* snd_tail;
  rte_mbuf* snd_cur;    // segment holding snd_nxt (null: at the end)
  rte_mbuf* ooo_head;   // out-of-order queue, sorted (linked through the mbuf dynfield)
  uint32_t snd_queued;  // bytes in the send queue
  uint32_t ooo_bytes;
  // --- upper layer ---
  void* user;
  uint64_t bytes_in;
  uint64_t bytes_out;
};

static_assert(sizeof(Conn) <= 256, "connection state must fit 256 bytes (issue 3)");

// Compact TIME_WAIT entry (RFC 9293 3.10.7.4 TIME-WAIT): what is needed to ACK a retransmitted FIN,
// to validate a new SYN reusing the tuple (RFC 6191) and to run PAWS; 32 bytes instead of a Conn.
struct TimeWait {
  uint32_t local_ip, remote_ip;
  uint16_t local_port, remote_port;
  uint32_t snd_nxt;
  uint32_t rcv_nxt;
  uint32_t ts_recent;
  uint32_t expiry_ms;
  uint8_t has_ts;
  uint8_t rcv_wscale;
  uint8_t live;
  uint8_t pad;
};
static_assert(sizeof(TimeWait) == 32);

// Per-mbuf metadata for the out-of-order queue (an mbuf dynamic field).
struct OooMeta {
  rte_mbuf* next;
  uint32_t seq;
  uint32_t fin;  // the segment carried FIN
};

}  // namespace dp::tcp
