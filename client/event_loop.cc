#include "client/event_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace client {

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  std::unique_ptr<EventLoop> loop(new EventLoop());
  loop->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (loop->epfd_ < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
  return loop;
}

EventLoop::~EventLoop() {
  if (epfd_ >= 0) close(epfd_);
}

absl::Status EventLoop::Add(int fd, uint32_t events, Callback cb) {
  uint32_t gen = next_generation_++;
  epoll_event ev{};
  ev.events = events;
  // The generation tells a stale event for a closed-and-reused descriptor from a fresh one.
  ev.data.u64 = (static_cast<uint64_t>(gen) << 32) | static_cast<uint32_t>(fd);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("epoll add fd ", fd));
  }
  entries_[fd] = Entry{gen, events, std::make_shared<Callback>(std::move(cb))};
  return absl::OkStatus();
}

absl::Status EventLoop::Modify(int fd, uint32_t events) {
  auto it = entries_.find(fd);
  if (it == entries_.end()) return absl::NotFoundError(absl::StrCat("fd ", fd, " not watched"));
  if (it->second.events == events) return absl::OkStatus();
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<uint64_t>(it->second.generation) << 32) | static_cast<uint32_t>(fd);
  if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("epoll mod fd ", fd));
  }
  it->second.events = events;
  return absl::OkStatus();
}

void EventLoop::Remove(int fd) {
  if (entries_.erase(fd) == 0) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

absl::Status EventLoop::RunOnce(absl::Time deadline) {
  int timeout_ms = -1;
  if (deadline != absl::InfiniteFuture()) {
    absl::Duration left = deadline - absl::Now();
    // Round up so we never wake a hair early and spin.
    timeout_ms =
        left <= absl::ZeroDuration()
            ? 0
            : static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
  }
  epoll_event evs[16];
  int n = epoll_wait(epfd_, evs, 16, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return absl::OkStatus();
    return absl::ErrnoToStatus(errno, "epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    int fd = static_cast<int>(evs[i].data.u64 & 0xffffffffu);
    uint32_t gen = static_cast<uint32_t>(evs[i].data.u64 >> 32);
    auto it = entries_.find(fd);
    if (it == entries_.end() || it->second.generation != gen) continue;
    // Hold a reference: the callback may remove itself.
    std::shared_ptr<Callback> cb = it->second.cb;
    (*cb)(evs[i].events);
  }
  return absl::OkStatus();
}

}  // namespace client
