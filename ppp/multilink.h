// PPP Multilink (RFC 1990): fragmentation of packets up to the MRRU into MP fragments (protocol
// 0x003D) and their bounded reassembly, with long (24-bit) and short (12-bit, option 18)
// sequence numbers.
//
// The reassembler follows RFC 1990 section 4.1/4.2: each member link delivers fragments in
// increasing sequence order, so once every link has moved past a missing sequence number (M, the
// minimum over the links of the last number seen) that fragment is lost and the packet it belonged
// to is dropped. Memory is bounded: past max_buffered_fragments or max_buffered_bytes the oldest
// incomplete packet is dropped.
#ifndef PPP_MULTILINK_H_
#define PPP_MULTILINK_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ppp {

struct MpHeader {
  bool begin = false;  // B: first fragment of a packet
  bool end = false;    // E: last fragment
  uint32_t sequence = 0;
  uint8_t header_length = 4;  // 4 long, 2 short
};

// Parses the MP header at the start of a 0x003D frame's information.
absl::StatusOr<MpHeader> ParseMpHeader(absl::Span<const uint8_t> information, bool short_sequence);

class MultilinkFragmenter {
 public:
  explicit MultilinkFragmenter(bool short_sequence) : short_sequence_(short_sequence) {}

  // Splits `packet` (the inner protocol field and information, as in a frame without FF 03) into
  // fragments carrying at most `max_fragment_data` bytes each, and appends each fragment's MP
  // information (header + data) to `out`: send each as a frame of protocol kProtocolMultilink.
  void Fragment(absl::Span<const uint8_t> packet, size_t max_fragment_data,
                std::vector<std::vector<uint8_t>>& out);
  uint32_t next_sequence() const { return sequence_; }

 private:
  bool short_sequence_;
  uint32_t sequence_ = 0;
};

struct MultilinkReassemblerConfig {
  bool short_sequence = false;
  size_t mrru = 1614;  // larger reassembled packets are dropped
  size_t links = 1;    // member links (SSTP: 1); link indexes above grow it
  size_t max_buffered_fragments = 256;
  size_t max_buffered_bytes = 64 * 1024;
};

class MultilinkReassembler {
 public:
  explicit MultilinkReassembler(MultilinkReassemblerConfig config) : config_(config) {}

  // One received MP frame's information (after the 0x003D protocol field) from member link
  // `link` (0 for a single SSTP link). Malformed headers are dropped with an error.
  absl::Status Receive(absl::Span<const uint8_t> information, size_t link = 0);

  // Reassembled packets (inner protocol field + information), in sequence order.
  std::vector<std::vector<uint8_t>> TakePackets() { return std::move(packets_); }

  uint64_t lost_fragments() const { return lost_fragments_; }
  uint64_t dropped_packets() const { return dropped_packets_; }
  size_t buffered_fragments() const { return buffer_.size(); }
  size_t buffered_bytes() const { return buffered_bytes_; }

 private:
  struct Fragment {
    bool begin;
    bool end;
    std::vector<uint8_t> data;
  };
  int64_t Unwrap(uint32_t sequence);
  int64_t MinLinkSequence() const;
  void Process();
  void Erase(std::map<int64_t, Fragment>::iterator it);
  // Drops buffered fragments from expected_ up to the next beginning of a packet.
  void SkipToNextBegin();

  MultilinkReassemblerConfig config_;
  std::map<int64_t, Fragment> buffer_;  // by unwrapped sequence number
  size_t buffered_bytes_ = 0;
  std::optional<int64_t> highest_;
  int64_t expected_ = 0;  // next sequence number to deliver from
  bool started_ = false;  // a packet has been delivered or given up
  absl::InlinedVector<std::optional<int64_t>, 4> link_last_;  // per link: last sequence seen
  std::vector<std::vector<uint8_t>> packets_;
  uint64_t lost_fragments_ = 0;
  uint64_t dropped_packets_ = 0;
};

}  // namespace ppp

#endif  // PPP_MULTILINK_H_
