// SACK (RFC 2018) on both sides and the RFC 6675 scoreboard used by loss recovery.
//
// The sender keeps up to three SACKed ranges above snd_una (sorted, merged). When a fourth
// disjoint range arrives, the highest one is forgotten: that only delays recovery of data above it
// (it will be resent or re-SACKed), never marks unreceived data as received.
#include <rte_mbuf.h>

#include <algorithm>

#include "dataplane/tcp/tcp_impl.h"

namespace dp::tcp {

void StackImpl::SackUpdate(Conn* c, const TcpOptions& o) {
  SackBlock all[3 + kMaxSackBlocks];
  int n = 0;
  for (const SackBlock& b : c->sacked) {
    if (b.start != b.end) all[n++] = b;
  }
  for (int i = 0; i < o.num_sack; ++i) {
    SackBlock b = o.sack[i];
    // RFC 2018 / 5961: ignore blocks outside (snd_una, snd_max].
    if (SeqLeq(b.end, b.start)) continue;
    if (SeqLt(b.start, c->snd_una)) b.start = c->snd_una;
    if (SeqGt(b.end, c->snd_max)) b.end = c->snd_max;
    if (SeqLeq(b.end, b.start)) continue;
    all[n++] = b;
  }
  std::sort(all, all + n,
            [](const SackBlock& a, const SackBlock& b) { return SeqLt(a.start, b.start); });
  int out = 0;
  SackBlock merged[3 + kMaxSackBlocks];
  for (int i = 0; i < n; ++i) {
    if (out > 0 && SeqLeq(all[i].start, merged[out - 1].end)) {
      merged[out - 1].end = SeqMax(merged[out - 1].end, all[i].end);
    } else {
      merged[out++] = all[i];
    }
  }
  for (int i = 0; i < 3; ++i) c->sacked[i] = i < out ? merged[i] : SackBlock{0, 0};
}

void StackImpl::SackTrim(Conn* c) {
  int out = 0;
  SackBlock keep[3];
  for (const SackBlock& b : c->sacked) {
    if (b.start == b.end || SeqLeq(b.end, c->snd_una)) continue;
    keep[out] = b;
    if (SeqLt(keep[out].start, c->snd_una)) keep[out].start = c->snd_una;
    ++out;
  }
  for (int i = 0; i < 3; ++i) c->sacked[i] = i < out ? keep[i] : SackBlock{0, 0};
}

uint32_t StackImpl::SackedBytes(const Conn* c) const {
  uint32_t n = 0;
  for (const SackBlock& b : c->sacked) n += b.end - b.start;
  return n;
}

uint32_t StackImpl::HighestSacked(const Conn* c) const {
  uint32_t h = c->snd_una;
  for (const SackBlock& b : c->sacked) {
    if (b.start != b.end) h = SeqMax(h, b.end);
  }
  return h;
}

// RFC 6675 4 SetPipe, simplified: every unSACKed byte below the highest SACKed byte counts as
// lost (DupThresh is met for holes below a SACKed range in recovery), so
// pipe = outstanding - SACKed - (lost and not yet retransmitted).
uint32_t StackImpl::Pipe(const Conn* c) const {
  uint32_t flight = c->snd_max - c->snd_una;
  uint32_t sacked = SackedBytes(c);
  uint32_t lost = 0;
  uint32_t s = SeqMax(c->high_rxt, c->snd_una);
  for (const SackBlock& b : c->sacked) {
    if (b.start == b.end) continue;
    if (SeqLt(s, b.start)) lost += b.start - s;
    s = SeqMax(s, b.end);
  }
  uint32_t out = sacked + lost;
  return flight > out ? flight - out : 0;
}

// RFC 6675 4 NextSeg (1): the first unSACKed, not yet retransmitted range below the highest
// SACKed byte.
bool StackImpl::NextHole(const Conn* c, uint32_t* seq, uint32_t* len) const {
  uint32_t s = SeqMax(c->high_rxt, c->snd_una);
  for (const SackBlock& b : c->sacked) {
    if (b.start == b.end) continue;
    if (SeqLt(s, b.start)) {
      *seq = s;
      *len = std::min<uint32_t>(b.start - s, c->snd_mss);
      return true;
    }
    s = SeqMax(s, b.end);
  }
  return false;
}

// Receiver side (RFC 2018 4): blocks describing the out-of-order queue; the block holding the
// most recently received segment first (sack_recent_), the rest in ascending order.
int StackImpl::BuildSackBlocks(Conn* c, SackBlock* out, int max) const {
  SackBlock ranges[64];
  int n = 0;
  for (rte_mbuf* m = c->ooo_head; m != nullptr && n < 64; m = Meta(m)->next) {
    uint32_t start = Meta(m)->seq, end = start + m->pkt_len;
    if (n > 0 && SeqLeq(start, ranges[n - 1].end)) {
      ranges[n - 1].end = SeqMax(ranges[n - 1].end, end);
    } else {
      ranges[n++] = SackBlock{start, end};
    }
  }
  int count = 0;
  int first = -1;
  if (sack_recent_valid_) {
    for (int i = 0; i < n; ++i) {
      if (SeqInRange(sack_recent_, ranges[i].start, ranges[i].end)) first = i;
    }
  }
  if (first >= 0 && count < max) out[count++] = ranges[first];
  for (int i = 0; i < n && count < max; ++i) {
    if (i != first) out[count++] = ranges[i];
  }
  return count;
}

}  // namespace dp::tcp
