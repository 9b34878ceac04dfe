// A small epoll loop: file descriptors with callbacks, and one wake-up time chosen by the caller
// (the earliest deadline of the protocol state machines), so timers need no machinery of their own.
#ifndef CLIENT_EVENT_LOOP_H_
#define CLIENT_EVENT_LOOP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace client {

class EventLoop {
 public:
  using Callback = std::function<void(uint32_t events)>;

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();
  ~EventLoop();

  absl::Status Add(int fd, uint32_t events, Callback cb);
  absl::Status Modify(int fd, uint32_t events);
  // Safe from inside a callback: events already fetched for `fd` are not delivered.
  void Remove(int fd);
  bool Watching(int fd) const { return entries_.count(fd) != 0; }

  // Waits until a descriptor is ready or `deadline` passes (absl::InfiniteFuture(): no limit),
  // then runs the callbacks of the ready descriptors.
  absl::Status RunOnce(absl::Time deadline);

 private:
  EventLoop() = default;
  struct Entry {
    uint32_t generation;
    uint32_t events;
    std::shared_ptr<Callback> cb;
  };
  int epfd_ = -1;
  uint32_t next_generation_ = 1;
  std::unordered_map<int, Entry> entries_;
};

}  // namespace client

#endif  // CLIENT_EVENT_LOOP_H_
