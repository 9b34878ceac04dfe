// One TLS connection over the data plane's userspace TCP (tls/README.md's per-connection sequence
// on mbufs), shared by the SSTP server (dataplane/sstp/server.cc) and the TLS test services
// (tls_service.cc):
//   handshake fed from the OnData chains (tls::Handshake, OpenSSL) -> handover -> records opened
//   by tls::RecordSession in place over the received mbuf segments (a record may span several)
//   -> sealed records queued on TCP in order, waiting for send space (a sealed record can never
//   be dropped: its sequence number is spent).
// The upper layer keeps the policy: what a record's plaintext means, when to consume received
// bytes (TlsRxPolicy), what to log, when to close. Everything runs on the owning lcore.
#ifndef DATAPLANE_TLS_CONN_H_
#define DATAPLANE_TLS_CONN_H_

#include <rte_mbuf.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "dataplane/tcp/tcp.h"
#include "tls/handshake.h"
#include "tls/lcore_crypto.h"
#include "tls/record.h"
#include "tls/segments.h"

namespace dp {

struct Worker;

// What an lcore lends its TLS connections: the worker (clock, mbuf pool, TCP stack), its crypto
// context and scratch space for the records the record layer owes (alerts, close_notify,
// KeyUpdate) and for control-path records built from flat bytes.
struct TlsLcore {
  Worker* w = nullptr;
  tls::LcoreCrypto* crypto = nullptr;
  std::vector<uint8_t> scratch;  // Init() sizes it
  tls::SegmentList segs, pieces;
  void Init(Worker* worker, tls::LcoreCrypto* c);
};

// When received bytes reopen the TCP window.
enum class TlsRxPolicy : uint8_t {
  // The upper layer calls tcp::Stack::Consumed on arrival and opens every complete record at once
  // (the SSTP server: what stays buffered is at most one incomplete record).
  kConsumedByUpper,
  // A record's bytes are consumed once it is opened, and no record is opened while sealed output
  // waits for send space: the peer is throttled by the window (the echo service).
  kConsumeWhenOpened,
};

// Chain helpers (also used by the upper layers).
rte_mbuf* TrimFront(rte_mbuf* m, uint32_t n);  // drops n bytes; the new head (null when empty)
// A chain holding a copy of `a` then `b`; null when the pool is empty.
rte_mbuf* CopyToChain(rte_mempool* pool, absl::Span<const uint8_t> a,
                      absl::Span<const uint8_t> b = {});
void ChainSegments(rte_mbuf* m, tls::SegmentList* out);

struct TlsConn {
  tcp::Conn* conn = nullptr;  // null once the TCP connection is gone
  tls::RecordSession rec;
  std::unique_ptr<tls::Handshake> hs;
  rte_mbuf* rx = nullptr;         // received, not yet opened
  uint32_t rx_preconsumed = 0;    // leading rx bytes already consumed (handover leftovers)
  std::deque<rte_mbuf*> backlog;  // sealed records the TCP stack refused, in order
  bool established = false;
  uint64_t records_in = 0, records_spanning = 0;  // opened; of those, over several mbufs
  uint64_t send_waits = 0;                        // a send waited for OnWritable

  TlsConn() = default;
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;
  ~TlsConn();

  enum class Step : uint8_t { kInProgress, kFailed, kEstablished };
  // Handshake bytes (an OnData chain, freed here; the upper layer consumed them). Sends what the
  // handshake writes. kFailed: `error` says why (with the alerts). kEstablished: the record layer
  // is initialised from the handover (keys wiped), leftovers are in rx (already consumed), and
  // `ho` carries the cipher and peer certificate.
  Step Handshake(TlsLcore& l, rte_mbuf* data, tls::Handover* ho, std::string* error);
  // The handshake's pending output (ClientHello, an alert after a timeout) to the wire.
  void SendHandshakeOutput(TlsLcore& l);
  // Appends in-order payload (an OnData chain) to rx; false when the chain is too long.
  bool Append(rte_mbuf* data);

  // Opens the complete records in rx, oldest first. For each record, on_record(r, pieces) with
  // pieces the plaintext of a kData record over the mbufs; it returns false to stop (the upper
  // layer closed). The record's bytes are trimmed (and, by policy, consumed) after the call;
  // kControl records (KeyUpdate, ...) are handled here. A terminal status (close_notify, an alert
  // from the peer, a record error) is passed on and ends the loop; the record layer's pending
  // output (our close_notify or fatal alert) is sent for those, except after a peer alert.
  template <typename F>
  void Open(TlsLcore& l, TlsRxPolicy policy, F on_record);

  // Queues a chain behind the backlog; false when it had to wait (OnWritable is armed).
  bool Queue(TlsLcore& l, rte_mbuf* m);
  // Raw bytes (handshake records) copied into a chain and queued; false: no mbufs.
  bool SendCopy(TlsLcore& l, absl::Span<const uint8_t> bytes);
  // One application_data record holding `a` then `b` (at most a record's plaintext), sealed in the
  // scratch space and queued; false: too big, sealing failed, or no mbufs.
  bool SealCopy(TlsLcore& l, absl::Span<const uint8_t> a, absl::Span<const uint8_t> b = {});
  // The records the record layer owes (alerts, close_notify, KeyUpdate) to the wire.
  void FlushPending(TlsLcore& l);
  // Sends the backlog while TCP takes it; true when it is empty.
  bool FlushBacklog(TlsLcore& l);

 private:
  void TrimRx(TlsLcore& l, TlsRxPolicy policy, uint32_t n);
};

template <typename F>
void TlsConn::Open(TlsLcore& l, TlsRxPolicy policy, F on_record) {
  while (rx != nullptr && conn != nullptr &&
         (policy == TlsRxPolicy::kConsumedByUpper || backlog.empty())) {
    ChainSegments(rx, &l.segs);
    tls::OpenResult r = rec.Open(*l.crypto, l.segs);
    if (r.status == tls::OpenStatus::kNeedMore) return;
    ++records_in;
    if (r.record_len > l.segs[0].size()) ++records_spanning;
    if (r.status == tls::OpenStatus::kData) {
      l.pieces.clear();
      tls::Slice(l.segs, r.data_offset, r.data_len, l.pieces);
      const bool go_on = on_record(r, l.pieces);
      TrimRx(l, policy, uint32_t(r.record_len));
      if (!go_on) return;
      continue;
    }
    TrimRx(l, policy, uint32_t(r.record_len));
    if (r.status == tls::OpenStatus::kControl) {
      FlushPending(l);
      continue;
    }
    if (r.status != tls::OpenStatus::kPeerAlert) FlushPending(l);
    on_record(r, l.pieces);
    return;
  }
}

}  // namespace dp

#endif  // DATAPLANE_TLS_CONN_H_
