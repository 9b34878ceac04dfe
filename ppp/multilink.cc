#include "ppp/multilink.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace ppp {
namespace {

constexpr uint8_t kBegin = 0x80;
constexpr uint8_t kEnd = 0x40;

}  // namespace

absl::StatusOr<MpHeader> ParseMpHeader(absl::Span<const uint8_t> info, bool short_sequence) {
  MpHeader h;
  h.header_length = short_sequence ? 2 : 4;
  if (info.size() < h.header_length) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "MP fragment: %d bytes, shorter than its %d-byte header", info.size(), h.header_length));
  }
  h.begin = info[0] & kBegin;
  h.end = info[0] & kEnd;
  if (short_sequence) {
    // RFC 1990 3: the two bits after B/E are reserved (zero) in the short format.
    h.sequence = (info[0] & 0x0F) << 8 | info[1];
  } else {
    h.sequence = uint32_t{info[1]} << 16 | uint32_t{info[2]} << 8 | info[3];
  }
  return h;
}

void MultilinkFragmenter::Fragment(absl::Span<const uint8_t> packet, size_t max_fragment_data,
                                   std::vector<std::vector<uint8_t>>& out) {
  if (max_fragment_data == 0) max_fragment_data = 1;
  const uint32_t mask = short_sequence_ ? 0xFFF : 0xFFFFFF;
  size_t pos = 0;
  do {
    size_t n = std::min(max_fragment_data, packet.size() - pos);
    uint8_t flags = (pos == 0 ? kBegin : 0) | (pos + n == packet.size() ? kEnd : 0);
    std::vector<uint8_t> f;
    f.reserve(4 + n);
    if (short_sequence_) {
      f.push_back(static_cast<uint8_t>(flags | (sequence_ >> 8 & 0x0F)));
      f.push_back(static_cast<uint8_t>(sequence_));
    } else {
      f.push_back(flags);
      f.push_back(static_cast<uint8_t>(sequence_ >> 16));
      f.push_back(static_cast<uint8_t>(sequence_ >> 8));
      f.push_back(static_cast<uint8_t>(sequence_));
    }
    f.insert(f.end(), packet.begin() + pos, packet.begin() + pos + n);
    out.push_back(std::move(f));
    sequence_ = (sequence_ + 1) & mask;
    pos += n;
  } while (pos < packet.size());
}

int64_t MultilinkReassembler::Unwrap(uint32_t sequence) {
  const int bits = config_.short_sequence ? 12 : 24;
  const int64_t space = int64_t{1} << bits;
  if (!highest_) return sequence;
  int64_t diff = (static_cast<int64_t>(sequence) - (*highest_ & (space - 1))) & (space - 1);
  if (diff >= space / 2) diff -= space;  // serial-number arithmetic: behind us
  return *highest_ + diff;
}

int64_t MultilinkReassembler::MinLinkSequence() const {
  // A member link that has sent nothing yet may still deliver anything: no number is known lost.
  if (link_last_.size() < config_.links) return INT64_MIN;
  int64_t m = INT64_MAX;
  for (const auto& l : link_last_) {
    if (!l) return INT64_MIN;
    m = std::min(m, *l);
  }
  return m;
}

void MultilinkReassembler::Erase(std::map<int64_t, Fragment>::iterator it) {
  buffered_bytes_ -= it->second.data.size();
  buffer_.erase(it);
}

absl::Status MultilinkReassembler::Receive(absl::Span<const uint8_t> info, size_t link) {
  absl::StatusOr<MpHeader> h = ParseMpHeader(info, config_.short_sequence);
  if (!h.ok()) return h.status();
  if (link > 64) return absl::InvalidArgumentError("MP: link index above 64");
  int64_t seq = Unwrap(h->sequence);
  // Until the first packet is delivered or given up, a fragment older than the first one seen
  // (reordered across links) moves the start back instead of counting as late.
  if (!highest_ || (!started_ && seq < expected_)) expected_ = seq;
  if (!highest_ || seq > *highest_) highest_ = seq;
  if (link_last_.size() <= link) link_last_.resize(link + 1);
  if (!link_last_[link] || seq > *link_last_[link]) link_last_[link] = seq;

  if (seq < expected_ || buffer_.count(seq)) {
    ++lost_fragments_;  // late (already given up on) or duplicate
    Process();
    return absl::OkStatus();
  }
  Fragment f{h->begin, h->end, {}};
  f.data.assign(info.begin() + h->header_length, info.end());
  buffered_bytes_ += f.data.size();
  buffer_.emplace(seq, std::move(f));
  Process();
  // Bounded memory: give up on the oldest incomplete packet until within limits.
  while (!buffer_.empty() && (buffer_.size() > config_.max_buffered_fragments ||
                              buffered_bytes_ > config_.max_buffered_bytes)) {
    ++dropped_packets_;
    started_ = true;
    expected_ = buffer_.begin()->first;
    Erase(buffer_.begin());
    ++expected_;
    SkipToNextBegin();
    Process();
  }
  return absl::OkStatus();
}

void MultilinkReassembler::SkipToNextBegin() {
  // Fragments without B at the front belong to a packet whose start is gone.
  while (!buffer_.empty() && !buffer_.begin()->second.begin &&
         buffer_.begin()->first <= expected_) {
    expected_ = buffer_.begin()->first + 1;
    Erase(buffer_.begin());
  }
}

void MultilinkReassembler::Process() {
  const int64_t m = MinLinkSequence();
  for (;;) {
    auto it = buffer_.find(expected_);
    if (it == buffer_.end()) {
      if (expected_ < m) {
        // Every link is past this number: the fragment is lost (RFC 1990 4.1). Skip the whole
        // gap at once: a peer jumping its sequence numbers must not cost a loop per number.
        int64_t next = m;
        if (!buffer_.empty()) next = std::min(next, buffer_.begin()->first);
        if (next <= expected_) next = expected_ + 1;
        lost_fragments_ += static_cast<uint64_t>(next - expected_);
        expected_ = next;
        started_ = true;
        continue;
      }
      return;
    }
    if (!it->second.begin) {
      // A middle or end fragment whose beginning is gone (counted when the loss was found):
      // known once a packet has passed, or once every link is past its predecessor.
      if (!started_ && !(expected_ - 1 < m)) return;
      Erase(it);
      ++expected_;
      continue;
    }
    // Walk B .. E.
    int64_t s = expected_;
    size_t total = 0;
    bool complete = false;
    int64_t missing = -1;
    for (auto j = it;; ++s) {
      if (j == buffer_.end() || j->first != s) {
        missing = s;
        break;
      }
      if (j != it && j->second.begin) {
        missing = -2;  // a new packet began before this one ended: it lost its end
        break;
      }
      total += j->second.data.size();
      if (j->second.end) {
        complete = true;
        break;
      }
      ++j;
    }
    if (complete) {
      std::vector<uint8_t> packet;
      if (total <= config_.mrru) packet.reserve(total);
      for (int64_t k = expected_; k <= s; ++k) {
        auto f = buffer_.find(k);
        if (total <= config_.mrru) {
          packet.insert(packet.end(), f->second.data.begin(), f->second.data.end());
        }
        Erase(f);
      }
      started_ = true;
      if (total <= config_.mrru && !packet.empty()) {
        packets_.push_back(std::move(packet));
      } else {
        ++dropped_packets_;
      }
      expected_ = s + 1;
      continue;
    }
    if (missing == -2) {
      // Drop the fragments of the truncated packet, up to the next B.
      while (expected_ < s) {
        Erase(buffer_.find(expected_));
        ++expected_;
      }
      ++dropped_packets_;
      continue;
    }
    if (missing >= 0 && missing < m) {
      // A fragment inside this packet is lost: drop what we have of it.
      while (expected_ < missing) {
        Erase(buffer_.find(expected_));
        ++expected_;
      }
      ++lost_fragments_;
      ++dropped_packets_;
      started_ = true;
      ++expected_;  // past the lost one; its packet's later fragments are dropped above
      continue;
    }
    return;  // waiting for more fragments
  }
}

}  // namespace ppp
