// Shared-memory rings between the data plane (DPDK lcores) and the control plane.
//
// One POSIX shared-memory segment (shm_open + mmap) holds, per data-plane lcore, two
// single-producer single-consumer byte rings: "up" (data plane -> control plane) and "down"
// (control plane -> data plane). A ring carries variable-length records, each starting with a
// RecordHeader (type, version, length, session id) and padded to 16 bytes. The producer publishes
// with a release store of `head`; the consumer acknowledges with a release store of `tail` after it
// has handled a record, so a consumer that dies and comes back resumes at the first record it had
// not acknowledged: nothing acknowledged is lost or replayed.
//
// No syscalls on the producer's fast path: the producer writes the consumer's eventfd doorbell only
// when the consumer has announced that it is about to sleep (Dekker-style flag + seq_cst fences).
// A full ring refuses the record and counts it (`full_count`), never overwrites.
//
// The segment header also carries the liveness of both processes (heartbeat, epoch, state) so the
// data plane can tell whether a control plane is there to accept new sessions; see Segment.
#ifndef RING_RING_H_
#define RING_RING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ring {

inline constexpr uint32_t kSegmentMagic = 0x53525047;  // "GPRS" little-endian: "SSTP ring"
inline constexpr uint32_t kLayoutVersion = 1;
inline constexpr uint32_t kRecordAlign = 16;
inline constexpr uint32_t kMaxLcores = 128;
// Largest record payload a ring accepts (a PPP frame is at most a few KiB; BCP frames ~1.6 KiB).
inline constexpr uint32_t kMaxPayload = 16 * 1024;

// Every record starts with this header. `length` counts payload bytes after the header.
struct RecordHeader {
  uint16_t type;
  uint8_t version;
  uint8_t flags;
  uint32_t length;
  uint64_t session_id;
};
static_assert(sizeof(RecordHeader) == 16);

inline constexpr uint16_t kPadRecord = 0;  // fills the end of the buffer before a wrap

// Control words of one ring. The producer's and the consumer's words live on separate cache lines.
struct alignas(64) RingControl {
  std::atomic<uint64_t> head;              // bytes published (producer writes)
  std::atomic<uint64_t> records;           // records published (producer writes)
  std::atomic<uint64_t> full_count;        // records refused because the ring was full (producer)
  std::atomic<uint64_t> full_bytes;        // payload bytes refused (producer)
  alignas(64) std::atomic<uint64_t> tail;  // bytes acknowledged (consumer writes)
  std::atomic<uint32_t> consumer_waiting;  // 1: consumer is (about to be) asleep on its doorbell
  std::atomic<uint32_t> consumer_pid;
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// Liveness of the control plane as seen by the data plane.
enum class CpState : uint32_t {
  kAbsent = 0,     // never started, or exited cleanly: refuse new sessions (CALL_ABORT)
  kResyncing = 1,  // attached, rebuilding its session table from the dump: refuse new sessions
  kReady = 2,      // accepting new sessions
};

struct alignas(64) SegmentHeader {
  uint32_t magic;
  uint32_t layout_version;
  uint32_t n_lcores;
  uint32_t ring_bytes;  // per ring, power of two
  uint64_t segment_bytes;
  std::atomic<uint32_t> initialized;  // set last by the creator
  // Control plane liveness: heartbeat is CLOCK_MONOTONIC nanoseconds (same clock in both
  // processes), refreshed at least every kHeartbeatPeriod while the control plane runs.
  alignas(64) std::atomic<uint64_t> cp_heartbeat_ns;
  std::atomic<uint64_t> cp_epoch;  // incremented by each control plane that attaches
  std::atomic<uint32_t> cp_state;  // CpState
  std::atomic<uint32_t> cp_pid;
  // Data plane liveness, the mirror image.
  alignas(64) std::atomic<uint64_t> dp_heartbeat_ns;
  std::atomic<uint64_t> dp_epoch;
  std::atomic<uint32_t> dp_state;  // 0 absent, 1 running
  std::atomic<uint32_t> dp_pid;
};

inline constexpr uint64_t kHeartbeatPeriodNs = 100'000'000;     // 100 ms
inline constexpr uint64_t kHeartbeatTimeoutNs = 1'000'000'000;  // 1 s without heartbeat: gone

// CLOCK_MONOTONIC in nanoseconds (a vDSO call, no syscall). The libraries never read clocks; the
// two programs do, and pass the value in.
uint64_t MonotonicNowNs();

// The producer side of one ring. Not thread-safe: one producer thread per ring.
class Producer {
 public:
  Producer() = default;
  Producer(RingControl* ctl, uint8_t* data, uint32_t size, int doorbell_fd)
      : ctl_(ctl), data_(data), size_(size), doorbell_fd_(doorbell_fd) {
    head_ = ctl->head.load(std::memory_order_relaxed);
    cached_tail_ = ctl->tail.load(std::memory_order_acquire);
  }

  // Reserves room for a record with `length` payload bytes and returns the payload pointer, or
  // nullptr when the ring is full (counted in full_count) or the length is too big. Call Commit()
  // to publish (records reserved and not committed are simply overwritten by the next Reserve).
  uint8_t* Reserve(uint16_t type, uint8_t version, uint64_t session_id, uint32_t length);
  // Publishes the reserved record, and rings the doorbell if the consumer sleeps.
  void Commit();
  // Reserve + memcpy + Commit.
  bool Push(uint16_t type, uint8_t version, uint64_t session_id, absl::Span<const uint8_t> payload);

  // Bytes free right now (may be stale by the consumer's progress).
  uint32_t FreeBytes();
  uint64_t full_count() const { return ctl_->full_count.load(std::memory_order_relaxed); }
  void set_doorbell(int fd) { doorbell_fd_ = fd; }
  bool valid() const { return ctl_ != nullptr; }

 private:
  RingControl* ctl_ = nullptr;
  uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
  int doorbell_fd_ = -1;
  uint64_t head_ = 0;          // local copy of head
  uint64_t cached_tail_ = 0;   // last tail seen; refreshed only when the ring looks full
  uint64_t pending_head_ = 0;  // head after the reserved record
};

// The consumer side of one ring. Not thread-safe: one consumer thread per ring.
class Consumer {
 public:
  Consumer() = default;
  Consumer(RingControl* ctl, uint8_t* data, uint32_t size) : ctl_(ctl), data_(data), size_(size) {
    tail_ = ctl->tail.load(std::memory_order_relaxed);
  }

  // The next record, or false when the ring is empty. `payload` points into the ring and stays
  // valid until Release(). A record that is structurally impossible (length past the published
  // bytes) sets `corrupt` and is reported as absent; the ring cannot be trusted then.
  bool Peek(RecordHeader* header, absl::Span<const uint8_t>* payload);
  // Acknowledges the peeked record: the producer may reuse its space, and a restarted consumer
  // will not see it again.
  void Release();

  // Sleep protocol: call PrepareToSleep(); if it returns true, nothing arrived since the last Peek
  // and the producer will ring the doorbell on its next Commit. Call Awake() after waking.
  bool PrepareToSleep();
  void Awake();

  uint32_t UsedBytes() const;
  bool corrupt() const { return corrupt_; }
  bool valid() const { return ctl_ != nullptr; }

 private:
  RingControl* ctl_ = nullptr;
  uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
  uint64_t tail_ = 0;
  uint64_t next_tail_ = 0;
  bool corrupt_ = false;
};

// A mapped segment. Movable, unmaps on destruction.
class Segment {
 public:
  struct Options {
    uint32_t n_lcores = 1;
    uint32_t ring_bytes = 1 << 20;  // power of two, >= 4 * kMaxPayload
  };

  // Creates (or re-creates, truncating) the named segment; `name` is a POSIX shm name like
  // "/sstp-ring". The data plane creates it: it outlives control-plane restarts.
  static absl::StatusOr<Segment> Create(const std::string& name, const Options& options);
  // Maps an existing segment and checks its magic, layout version and size.
  static absl::StatusOr<Segment> Attach(const std::string& name);
  // Removes the name (the mapping stays valid for processes that have it).
  static void Unlink(const std::string& name);
  // True when `name` no longer names the mapped object (the data plane re-created it): re-attach.
  bool Stale(const std::string& name) const;

  Segment() = default;
  Segment(Segment&& other) noexcept;
  Segment& operator=(Segment&& other) noexcept;
  ~Segment();

  SegmentHeader* header() const { return header_; }
  uint32_t n_lcores() const { return header_->n_lcores; }
  uint32_t ring_bytes() const { return header_->ring_bytes; }

  RingControl* up_control(uint32_t lcore) const;
  RingControl* down_control(uint32_t lcore) const;
  uint8_t* up_data(uint32_t lcore) const;
  uint8_t* down_data(uint32_t lcore) const;

  // Views. `doorbell_fd` is the consumer's eventfd (or -1: the consumer polls).
  Producer UpProducer(uint32_t lcore, int doorbell_fd) const;
  Consumer UpConsumer(uint32_t lcore) const;
  Producer DownProducer(uint32_t lcore, int doorbell_fd) const;
  Consumer DownConsumer(uint32_t lcore) const;

  // Control plane liveness, written by the control plane.
  void CpAttach(uint32_t pid, uint64_t now_ns);  // epoch++, state kResyncing
  void CpHeartbeat(uint64_t now_ns);
  void CpSetState(CpState state);
  // What the data plane checks before accepting a new session: a ready control plane whose
  // heartbeat is fresh.
  bool CpAcceptsSessions(uint64_t now_ns) const;
  void DpHeartbeat(uint32_t pid, uint64_t now_ns);
  bool DpAlive(uint64_t now_ns) const;

 private:
  void Reset();
  SegmentHeader* header_ = nullptr;
  size_t mapped_bytes_ = 0;
  uint64_t inode_ = 0;
};

// Size of a segment with these options.
uint64_t SegmentBytes(uint32_t n_lcores, uint32_t ring_bytes);

// An eventfd used as a doorbell. Movable; closes on destruction.
class Doorbell {
 public:
  static absl::StatusOr<Doorbell> Create();
  static Doorbell Adopt(int fd) {
    Doorbell d;
    d.fd_ = fd;
    return d;
  }
  Doorbell() = default;
  Doorbell(Doorbell&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Doorbell& operator=(Doorbell&& o) noexcept;
  ~Doorbell();
  int fd() const { return fd_; }
  void Ring() const;   // eventfd write(1)
  void Drain() const;  // eventfd read (non-blocking)

 private:
  int fd_ = -1;
};

// Passing doorbells between unrelated processes: SCM_RIGHTS over a connected Unix socket. The
// control plane listens on <run-dir>/ring.sock; the data plane connects, sends its down-ring
// eventfd(s) and receives the control plane's up-ring eventfd. `tag` is a small text label sent
// with the descriptors (for example "up" or "down").
absl::Status SendFds(int sock, const std::string& tag, absl::Span<const int> fds);
absl::StatusOr<std::vector<int>> RecvFds(int sock, std::string* tag, size_t max_fds);

}  // namespace ring

#endif  // RING_RING_H_
