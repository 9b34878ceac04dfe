#include "dataplane/tls_conn.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/net.h"

namespace dp {

void TlsLcore::Init(Worker* worker, tls::LcoreCrypto* c) {
  w = worker;
  crypto = c;
  // Room for the largest record the record layer may owe, and for one control-path record.
  scratch.resize(
      std::max<size_t>(2 * tls::kMaxCiphertext12, tls::RecordSession::kMaxPendingOutput + 64));
}

rte_mbuf* TrimFront(rte_mbuf* m, uint32_t n) {
  while (m != nullptr && n > 0) {
    if (n < m->data_len) {
      m->data_off += n;
      m->data_len -= n;
      m->pkt_len -= n;
      return m;
    }
    n -= m->data_len;
    rte_mbuf* next = m->next;
    if (next != nullptr) {
      next->pkt_len = m->pkt_len - m->data_len;
      next->nb_segs = m->nb_segs - 1;
    }
    m->next = nullptr;
    m->nb_segs = 1;
    rte_pktmbuf_free_seg(m);
    m = next;
  }
  while (m != nullptr && m->data_len == 0 && m->next != nullptr) {
    rte_mbuf* next = m->next;
    next->pkt_len = m->pkt_len;
    next->nb_segs = m->nb_segs - 1;
    m->next = nullptr;
    m->nb_segs = 1;
    rte_pktmbuf_free_seg(m);
    m = next;
  }
  return m;
}

rte_mbuf* CopyToChain(rte_mempool* pool, absl::Span<const uint8_t> a, absl::Span<const uint8_t> b) {
  rte_mbuf* head = nullptr;
  rte_mbuf* tail = nullptr;
  auto put = [&](absl::Span<const uint8_t> s) -> bool {
    while (!s.empty()) {
      if (tail == nullptr || rte_pktmbuf_tailroom(tail) == 0) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) return false;
        if (head == nullptr) {
          head = m;
        } else {
          tail->next = m;
          ++head->nb_segs;
        }
        tail = m;
      }
      uint16_t n = uint16_t(std::min<size_t>(s.size(), rte_pktmbuf_tailroom(tail)));
      memcpy(rte_pktmbuf_mtod_offset(tail, uint8_t*, tail->data_len), s.data(), n);
      tail->data_len += n;
      head->pkt_len += n;
      s.remove_prefix(n);
    }
    return true;
  };
  if (!put(a) || !put(b)) {
    rte_pktmbuf_free(head);
    return nullptr;
  }
  return head;
}

void ChainSegments(rte_mbuf* m, tls::SegmentList* out) {
  out->clear();
  for (; m != nullptr; m = m->next) {
    if (m->data_len) out->push_back({rte_pktmbuf_mtod(m, uint8_t*), m->data_len});
  }
}

TlsConn::~TlsConn() {
  rte_pktmbuf_free(rx);
  for (rte_mbuf* m : backlog) rte_pktmbuf_free(m);
}

void TlsConn::SendHandshakeOutput(TlsLcore& l) {
  if (hs == nullptr) return;
  std::vector<uint8_t> out = hs->TakeOutput();
  if (!out.empty()) SendCopy(l, out);
}

TlsConn::Step TlsConn::Handshake(TlsLcore& l, rte_mbuf* data, tls::Handover* ho,
                                 std::string* error) {
  for (rte_mbuf* m = data; m != nullptr; m = m->next) {
    hs->Feed({rte_pktmbuf_mtod(m, const uint8_t*), m->data_len});
    if (hs->state() != tls::HandshakeState::kInProgress) break;
  }
  // Bytes after the peer's Finished are kept by the handshake (Handover::pending_input).
  rte_pktmbuf_free(data);
  SendHandshakeOutput(l);
  switch (hs->state()) {
    case tls::HandshakeState::kInProgress:
      return Step::kInProgress;
    case tls::HandshakeState::kFailed: {
      *error = hs->error().ToString();
      if (auto a = hs->alert_sent()) absl::StrAppend(error, ", alert sent: ", tls::AlertName(*a));
      if (auto a = hs->alert_received()) {
        absl::StrAppend(error, ", alert received: ", tls::AlertName(*a));
      }
      hs.reset();
      return Step::kFailed;
    }
    case tls::HandshakeState::kEstablished:
      break;
  }
  if (!hs->CanHandOver()) {
    *error = absl::StrCat(hs->cipher_name(), " cannot be handed to the record layer");
    hs.reset();
    return Step::kFailed;
  }
  absl::StatusOr<tls::Handover> h = hs->TakeHandover();
  hs.reset();  // the SSL object is freed here
  if (!h.ok()) {
    *error = absl::StrCat("handover: ", h.status().ToString());
    return Step::kFailed;
  }
  if (!h->pending_output.empty()) SendCopy(l, h->pending_output);
  absl::Status s = rec.Init(*l.crypto, h->keys);
  tls::Wipe(h->keys);
  if (!s.ok()) {
    *error = absl::StrCat("record layer: ", s.ToString());
    return Step::kFailed;
  }
  if (!h->pending_input.empty()) {
    // Records the peer sent right after its Finished (consumed with the handshake bytes).
    rx = CopyToChain(l.w->net->pool, h->pending_input);
    if (rx == nullptr) {
      *error = "out of mbufs";
      return Step::kFailed;
    }
    rx_preconsumed = uint32_t(h->pending_input.size());
  }
  established = true;
  *ho = *std::move(h);
  return Step::kEstablished;
}

bool TlsConn::Append(rte_mbuf* data) {
  if (rx == nullptr) {
    rx = data;
    return true;
  }
  return rte_pktmbuf_chain(rx, data) == 0;
}

void TlsConn::TrimRx(TlsLcore& l, TlsRxPolicy policy, uint32_t n) {
  rx = TrimFront(rx, n);
  const uint32_t pre = std::min(n, rx_preconsumed);
  rx_preconsumed -= pre;
  if (policy == TlsRxPolicy::kConsumeWhenOpened && n > pre && conn != nullptr) {
    l.w->tcp->Consumed(conn, n - pre, l.w->now_ns);
  }
}

bool TlsConn::Queue(TlsLcore& l, rte_mbuf* m) {
  if (backlog.empty() && conn != nullptr && l.w->tcp->Send(conn, m, l.w->now_ns)) return true;
  if (backlog.empty()) ++send_waits;
  backlog.push_back(m);  // a refusal armed OnWritable
  return false;
}

bool TlsConn::SendCopy(TlsLcore& l, absl::Span<const uint8_t> bytes) {
  if (bytes.empty()) return true;
  rte_mbuf* m = CopyToChain(l.w->net->pool, bytes);
  if (m == nullptr) {
    ++l.w->c.mbuf_alloc_failed;
    return false;
  }
  Queue(l, m);
  return true;
}

bool TlsConn::SealCopy(TlsLcore& l, absl::Span<const uint8_t> a, absl::Span<const uint8_t> b) {
  const size_t total = a.size() + b.size();
  const size_t hl = rec.header_len();
  const size_t len = hl + total + rec.trailer_len();
  if (len > l.scratch.size() || total > tls::kMaxPlaintext) return false;
  memcpy(l.scratch.data() + hl, a.data(), a.size());
  if (!b.empty()) memcpy(l.scratch.data() + hl + a.size(), b.data(), b.size());
  absl::Span<uint8_t> whole(l.scratch.data(), len);
  if (!rec.Seal(*l.crypto, tls::ContentType::kApplicationData, {&whole, 1}).ok()) return false;
  return SendCopy(l, {l.scratch.data(), len});
}

void TlsConn::FlushPending(TlsLcore& l) {
  if (!established || !rec.HasPendingOutput()) return;
  absl::StatusOr<size_t> n = rec.SealPendingOutput(*l.crypto, absl::MakeSpan(l.scratch));
  if (n.ok() && *n > 0) SendCopy(l, {l.scratch.data(), *n});
}

bool TlsConn::FlushBacklog(TlsLcore& l) {
  while (!backlog.empty() && conn != nullptr) {
    if (!l.w->tcp->Send(conn, backlog.front(), l.w->now_ns)) return false;
    backlog.pop_front();
  }
  return backlog.empty();
}

}  // namespace dp
