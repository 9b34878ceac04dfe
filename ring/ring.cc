#include "ring/ring.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"

namespace ring {
namespace {

uint32_t AlignUp(uint32_t n) { return (n + kRecordAlign - 1) & ~(kRecordAlign - 1); }

size_t ControlOffset() { return (sizeof(SegmentHeader) + 63) & ~size_t{63}; }

absl::Status Errno(const std::string& what) { return absl::ErrnoToStatus(errno, what); }

}  // namespace

uint64_t MonotonicNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

// ---- Producer ----

uint32_t Producer::FreeBytes() {
  cached_tail_ = ctl_->tail.load(std::memory_order_acquire);
  return size_ - uint32_t(head_ - cached_tail_);
}

uint8_t* Producer::Reserve(uint16_t type, uint8_t version, uint64_t session_id, uint32_t length) {
  if (length > kMaxPayload) {
    ctl_->full_count.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  const uint32_t rec = AlignUp(uint32_t(sizeof(RecordHeader)) + length);
  const uint32_t pos = uint32_t(head_) & (size_ - 1);
  const uint32_t to_end = size_ - pos;
  // A record never wraps: if it does not fit before the end, a pad record fills the rest.
  const uint32_t need = rec <= to_end ? rec : to_end + rec;
  if (size_ - uint32_t(head_ - cached_tail_) < need) {
    cached_tail_ = ctl_->tail.load(std::memory_order_acquire);
    if (size_ - uint32_t(head_ - cached_tail_) < need) {
      ctl_->full_count.fetch_add(1, std::memory_order_relaxed);
      ctl_->full_bytes.fetch_add(length, std::memory_order_relaxed);
      return nullptr;
    }
  }
  uint32_t at = pos;
  if (rec > to_end) {
    RecordHeader pad{kPadRecord, 0, 0, to_end - uint32_t(sizeof(RecordHeader)), 0};
    std::memcpy(data_ + pos, &pad, sizeof pad);
    at = 0;
  }
  RecordHeader h{type, version, 0, length, session_id};
  std::memcpy(data_ + at, &h, sizeof h);
  pending_head_ = head_ + need;
  return data_ + at + sizeof(RecordHeader);
}

void Producer::Commit() {
  head_ = pending_head_;
  ctl_->records.fetch_add(1, std::memory_order_relaxed);
  ctl_->head.store(head_, std::memory_order_release);
  // Pairs with the fence in Consumer::PrepareToSleep: either the consumer sees the new head, or we
  // see its waiting flag.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (ctl_->consumer_waiting.load(std::memory_order_relaxed) != 0 &&
      ctl_->consumer_waiting.exchange(0, std::memory_order_relaxed) != 0 && doorbell_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t r = write(doorbell_fd_, &one, sizeof one);
    (void)r;
  }
}

bool Producer::Push(uint16_t type, uint8_t version, uint64_t session_id,
                    absl::Span<const uint8_t> payload) {
  uint8_t* p = Reserve(type, version, session_id, uint32_t(payload.size()));
  if (p == nullptr) return false;
  if (!payload.empty()) std::memcpy(p, payload.data(), payload.size());
  Commit();
  return true;
}

// ---- Consumer ----

bool Consumer::Peek(RecordHeader* header, absl::Span<const uint8_t>* payload) {
  if (corrupt_) return false;
  for (;;) {
    const uint64_t head = ctl_->head.load(std::memory_order_acquire);
    if (head == tail_) return false;
    const uint32_t avail = uint32_t(head - tail_);
    const uint32_t pos = uint32_t(tail_) & (size_ - 1);
    if (avail < sizeof(RecordHeader) || avail > size_) {
      corrupt_ = true;
      return false;
    }
    RecordHeader h;
    std::memcpy(&h, data_ + pos, sizeof h);
    const uint64_t rec = (uint64_t(sizeof(RecordHeader)) + h.length + kRecordAlign - 1) &
                         ~uint64_t(kRecordAlign - 1);
    if (rec > avail || rec > size_ - pos) {
      corrupt_ = true;
      return false;
    }
    if (h.type == kPadRecord) {
      // Padding carries nothing: skip and acknowledge it at once.
      tail_ += rec;
      ctl_->tail.store(tail_, std::memory_order_release);
      continue;
    }
    *header = h;
    *payload = absl::MakeConstSpan(data_ + pos + sizeof(RecordHeader), h.length);
    next_tail_ = tail_ + rec;
    return true;
  }
}

void Consumer::Release() {
  if (next_tail_ <= tail_) return;
  tail_ = next_tail_;
  ctl_->tail.store(tail_, std::memory_order_release);
}

bool Consumer::PrepareToSleep() {
  ctl_->consumer_waiting.store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (ctl_->head.load(std::memory_order_acquire) != tail_) {
    ctl_->consumer_waiting.store(0, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void Consumer::Awake() { ctl_->consumer_waiting.store(0, std::memory_order_relaxed); }

uint32_t Consumer::UsedBytes() const {
  return uint32_t(ctl_->head.load(std::memory_order_acquire) - tail_);
}

// ---- Segment ----

uint64_t SegmentBytes(uint32_t n_lcores, uint32_t ring_bytes) {
  return ControlOffset() + uint64_t(n_lcores) * 2 * sizeof(RingControl) +
         uint64_t(n_lcores) * 2 * ring_bytes;
}

absl::StatusOr<Segment> Segment::Create(const std::string& name, const Options& options) {
  if (options.n_lcores == 0 || options.n_lcores > kMaxLcores) {
    return absl::InvalidArgumentError(
        absl::StrCat("ring: lcore count ", options.n_lcores, " out of range 1..", kMaxLcores));
  }
  const uint32_t rb = options.ring_bytes;
  if (rb < 4 * kMaxPayload || (rb & (rb - 1)) != 0 || rb > (1u << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ring: ring size ", rb, " must be a power of two between ", 4 * kMaxPayload, " and 1 GiB"));
  }
  // A fresh object each time: a control plane still mapping the old one keeps a valid (stale)
  // mapping instead of faulting on a truncated file, and notices the change with Stale().
  shm_unlink(name.c_str());
  int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Errno(absl::StrCat("ring: shm_open ", name));
  const uint64_t bytes = SegmentBytes(options.n_lcores, rb);
  if (ftruncate(fd, 0) != 0 || ftruncate(fd, off_t(bytes)) != 0) {
    absl::Status s = Errno(absl::StrCat("ring: ftruncate ", name));
    close(fd);
    return s;
  }
  struct stat st;
  fstat(fd, &st);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return Errno(absl::StrCat("ring: mmap ", name));
  Segment seg;
  seg.header_ = new (p) SegmentHeader();
  seg.mapped_bytes_ = bytes;
  seg.inode_ = uint64_t(st.st_ino);
  SegmentHeader* h = seg.header_;
  h->magic = kSegmentMagic;
  h->layout_version = kLayoutVersion;
  h->n_lcores = options.n_lcores;
  h->ring_bytes = rb;
  h->segment_bytes = bytes;
  for (uint32_t i = 0; i < options.n_lcores; ++i) {
    new (seg.up_control(i)) RingControl();
    new (seg.down_control(i)) RingControl();
  }
  h->initialized.store(1, std::memory_order_release);
  return seg;
}

absl::StatusOr<Segment> Segment::Attach(const std::string& name) {
  int fd = shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0) return Errno(absl::StrCat("ring: shm_open ", name));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    absl::Status s = Errno("ring: fstat");
    close(fd);
    return s;
  }
  if (size_t(st.st_size) < sizeof(SegmentHeader)) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat("ring: segment ", name, " too small"));
  }
  void* p = mmap(nullptr, size_t(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return Errno(absl::StrCat("ring: mmap ", name));
  Segment seg;
  seg.header_ = static_cast<SegmentHeader*>(p);
  seg.mapped_bytes_ = size_t(st.st_size);
  seg.inode_ = uint64_t(st.st_ino);
  SegmentHeader* h = seg.header_;
  if (h->initialized.load(std::memory_order_acquire) != 1 || h->magic != kSegmentMagic) {
    return absl::FailedPreconditionError(
        absl::StrCat("ring: segment ", name, " is not initialised (no data plane yet?)"));
  }
  if (h->layout_version != kLayoutVersion) {
    return absl::FailedPreconditionError(absl::StrCat("ring: segment ", name,
                                                      " has layout version ", h->layout_version,
                                                      ", this build speaks ", kLayoutVersion));
  }
  if (h->n_lcores == 0 || h->n_lcores > kMaxLcores || h->ring_bytes == 0 ||
      (h->ring_bytes & (h->ring_bytes - 1)) != 0 ||
      SegmentBytes(h->n_lcores, h->ring_bytes) != h->segment_bytes ||
      h->segment_bytes > uint64_t(st.st_size)) {
    return absl::FailedPreconditionError(
        absl::StrCat("ring: segment ", name, " header is damaged"));
  }
  return seg;
}

void Segment::Unlink(const std::string& name) { shm_unlink(name.c_str()); }

bool Segment::Stale(const std::string& name) const {
  int fd = shm_open(name.c_str(), O_RDONLY, 0);
  if (fd < 0) return true;
  struct stat st;
  bool stale = fstat(fd, &st) != 0 || uint64_t(st.st_ino) != inode_;
  close(fd);
  return stale;
}

Segment::Segment(Segment&& other) noexcept
    : header_(other.header_), mapped_bytes_(other.mapped_bytes_), inode_(other.inode_) {
  other.header_ = nullptr;
  other.mapped_bytes_ = 0;
}

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    Reset();
    header_ = other.header_;
    mapped_bytes_ = other.mapped_bytes_;
    inode_ = other.inode_;
    other.header_ = nullptr;
    other.mapped_bytes_ = 0;
  }
  return *this;
}

Segment::~Segment() { Reset(); }

void Segment::Reset() {
  if (header_ != nullptr) munmap(header_, mapped_bytes_);
  header_ = nullptr;
  mapped_bytes_ = 0;
}

RingControl* Segment::up_control(uint32_t lcore) const {
  auto* base = reinterpret_cast<uint8_t*>(header_) + ControlOffset();
  return reinterpret_cast<RingControl*>(base) + 2 * lcore;
}
RingControl* Segment::down_control(uint32_t lcore) const { return up_control(lcore) + 1; }

uint8_t* Segment::up_data(uint32_t lcore) const {
  auto* base = reinterpret_cast<uint8_t*>(header_) + ControlOffset() +
               size_t(header_->n_lcores) * 2 * sizeof(RingControl);
  return base + size_t(2 * lcore) * header_->ring_bytes;
}
uint8_t* Segment::down_data(uint32_t lcore) const { return up_data(lcore) + header_->ring_bytes; }

Producer Segment::UpProducer(uint32_t lcore, int fd) const {
  return Producer(up_control(lcore), up_data(lcore), ring_bytes(), fd);
}
Consumer Segment::UpConsumer(uint32_t lcore) const {
  return Consumer(up_control(lcore), up_data(lcore), ring_bytes());
}
Producer Segment::DownProducer(uint32_t lcore, int fd) const {
  return Producer(down_control(lcore), down_data(lcore), ring_bytes(), fd);
}
Consumer Segment::DownConsumer(uint32_t lcore) const {
  return Consumer(down_control(lcore), down_data(lcore), ring_bytes());
}

void Segment::CpAttach(uint32_t pid, uint64_t now_ns) {
  header_->cp_pid.store(pid, std::memory_order_relaxed);
  header_->cp_epoch.fetch_add(1, std::memory_order_relaxed);
  header_->cp_heartbeat_ns.store(now_ns, std::memory_order_relaxed);
  header_->cp_state.store(uint32_t(CpState::kResyncing), std::memory_order_release);
}

void Segment::CpHeartbeat(uint64_t now_ns) {
  header_->cp_heartbeat_ns.store(now_ns, std::memory_order_release);
}

void Segment::CpSetState(CpState state) {
  header_->cp_state.store(uint32_t(state), std::memory_order_release);
}

bool Segment::CpAcceptsSessions(uint64_t now_ns) const {
  if (header_->cp_state.load(std::memory_order_acquire) != uint32_t(CpState::kReady)) return false;
  const uint64_t hb = header_->cp_heartbeat_ns.load(std::memory_order_acquire);
  return now_ns < hb + kHeartbeatTimeoutNs;
}

void Segment::DpHeartbeat(uint32_t pid, uint64_t now_ns) {
  header_->dp_pid.store(pid, std::memory_order_relaxed);
  header_->dp_state.store(1, std::memory_order_relaxed);
  header_->dp_heartbeat_ns.store(now_ns, std::memory_order_release);
}

bool Segment::DpAlive(uint64_t now_ns) const {
  if (header_->dp_state.load(std::memory_order_acquire) != 1) return false;
  return now_ns < header_->dp_heartbeat_ns.load(std::memory_order_acquire) + kHeartbeatTimeoutNs;
}

// ---- Doorbell ----

absl::StatusOr<Doorbell> Doorbell::Create() {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return Errno("ring: eventfd");
  return Adopt(fd);
}

Doorbell& Doorbell::operator=(Doorbell&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Doorbell::~Doorbell() {
  if (fd_ >= 0) close(fd_);
}

void Doorbell::Ring() const {
  uint64_t one = 1;
  ssize_t r = write(fd_, &one, sizeof one);
  (void)r;
}

void Doorbell::Drain() const {
  uint64_t v;
  ssize_t r = read(fd_, &v, sizeof v);
  (void)r;
}

// ---- SCM_RIGHTS ----

absl::Status SendFds(int sock, const std::string& tag, absl::Span<const int> fds) {
  constexpr size_t kMaxFds = 2 * kMaxLcores;
  if (fds.size() > kMaxFds || tag.size() > 255) {
    return absl::InvalidArgumentError("ring: too many descriptors or tag too long");
  }
  std::string body(1, char(tag.size()));
  body += tag;
  iovec iov{body.data(), body.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> cbuf(CMSG_SPACE(sizeof(int) * kMaxFds), 0);
  if (!fds.empty()) {
    msg.msg_control = cbuf.data();
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) return Errno("ring: sendmsg");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> RecvFds(int sock, std::string* tag, size_t max_fds) {
  char body[256];
  iovec iov{body, sizeof body};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> cbuf(CMSG_SPACE(sizeof(int) * (max_fds + 1)), 0);
  msg.msg_control = cbuf.data();
  msg.msg_controllen = cbuf.size();
  ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return Errno("ring: recvmsg");
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const int* p = reinterpret_cast<const int*>(CMSG_DATA(c));
      for (size_t i = 0; i < k; ++i) fds.push_back(p[i]);
    }
  }
  auto fail = [&](absl::Status s) {
    for (int fd : fds) close(fd);
    return s;
  };
  if (n == 0) return fail(absl::UnavailableError("ring: peer closed"));
  if ((msg.msg_flags & MSG_CTRUNC) != 0 || fds.size() > max_fds) {
    return fail(absl::InvalidArgumentError("ring: too many descriptors"));
  }
  size_t len = uint8_t(body[0]);
  if (size_t(n) != 1 + len) return fail(absl::InvalidArgumentError("ring: bad descriptor message"));
  if (tag != nullptr) tag->assign(body + 1, len);
  return fds;
}

}  // namespace ring
