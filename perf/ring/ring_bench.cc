// Ring messages per second across two processes, beside the same messages through a Unix
// socketpair (one send per message, what a design without shared memory would do), measured in
// the same run. Prints one JSON object.
//   ring_bench [messages] [payload_bytes]
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ring/ring.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Producer in this process, consumer in a child. `sleepy`: the consumer sleeps on its eventfd
// doorbell when the ring is empty (as sstp-controlplane does) instead of spinning.
double RingRun(uint64_t n, uint32_t payload, bool sleepy) {
  const std::string name = absl::StrCat("/sstp-ring-bench-", getpid());
  auto seg = ring::Segment::Create(name, {.n_lcores = 1, .ring_bytes = 1 << 20});
  if (!seg.ok()) {
    fprintf(stderr, "%s\n", seg.status().ToString().c_str());
    exit(1);
  }
  auto bell = ring::Doorbell::Create();
  pid_t pid = fork();
  if (pid == 0) {
    auto s = ring::Segment::Attach(name);
    ring::Consumer c = s->DownConsumer(0);
    ring::RecordHeader h;
    absl::Span<const uint8_t> p;
    uint64_t got = 0, sum = 0;
    while (got < n) {
      if (c.Peek(&h, &p)) {
        sum += p[0];
        ++got;
        c.Release();
        continue;
      }
      if (sleepy && c.PrepareToSleep()) {
        pollfd pfd{bell->fd(), POLLIN, 0};
        poll(&pfd, 1, 100);
        bell->Drain();
        c.Awake();
      } else {
        sched_yield();
      }
    }
    _exit(sum == 0 ? 0 : 0);
  }
  ring::Producer prod = seg->DownProducer(0, bell->fd());
  std::vector<uint8_t> body(payload, 1);
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < n;) {
    uint8_t* d = prod.Reserve(7, 1, i, payload);
    if (d == nullptr) {
      sched_yield();
      continue;
    }
    std::memcpy(d, body.data(), payload);
    prod.Commit();
    ++i;
  }
  int st;
  waitpid(pid, &st, 0);
  auto t1 = std::chrono::steady_clock::now();
  ring::Segment::Unlink(name);
  return double(n) / Seconds(t0, t1);
}

double SocketpairRun(uint64_t n, uint32_t payload) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
  int buf = 4 << 20;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  pid_t pid = fork();
  const uint32_t rec = payload + 16;  // the same record header the ring carries
  if (pid == 0) {
    close(sv[0]);
    std::vector<uint8_t> b(rec);
    for (uint64_t got = 0; got < n; ++got) {
      if (read(sv[1], b.data(), b.size()) <= 0) _exit(1);
    }
    _exit(0);
  }
  close(sv[1]);
  std::vector<uint8_t> b(rec, 1);
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    if (write(sv[0], b.data(), b.size()) != ssize_t(b.size())) break;
  }
  int st;
  waitpid(pid, &st, 0);
  auto t1 = std::chrono::steady_clock::now();
  close(sv[0]);
  return double(n) / Seconds(t0, t1);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], nullptr, 10) : 5'000'000;
  uint32_t payload = argc > 2 ? uint32_t(atoi(argv[2])) : 64;
  double ring_spin = RingRun(n, payload, false);
  double ring_sleep = RingRun(n, payload, true);
  double sp = SocketpairRun(n / 5, payload);
  printf(
      "{\"benchmark\": \"ring_cross_process\", \"messages\": %llu, \"payload_bytes\": %u, "
      "\"ring_msgs_per_sec\": %.0f, \"ring_doorbell_consumer_msgs_per_sec\": %.0f, "
      "\"reference\": \"unix socketpair SOCK_SEQPACKET, one send per message\", "
      "\"socketpair_msgs_per_sec\": %.0f, \"ratio\": %.2f, \"ratio_doorbell\": %.2f}\n",
      static_cast<unsigned long long>(n), payload, ring_spin, ring_sleep, sp, ring_spin / sp,
      ring_sleep / sp);
  return 0;
}
