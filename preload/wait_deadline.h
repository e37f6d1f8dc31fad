// When a thread's epoll_wait should time out, for the snapshot helper. A ptrace stop
// makes epoll_wait return EINTR; the helper restarts the call, and a restarted call would
// wait its whole relative timeout again — with snapshots more frequent than the timeout,
// a libuv timer would never fire. The hooks note the absolute deadline in a thread-local
// the helper reads through the stopped thread's fs_base, and the helper restarts the call
// with what remains of its timeout.
#pragma once

#include <cstdint>

namespace tidemark::preload {

// Notes the deadline of a timeout in milliseconds (< 0: none) for the call's duration.
class WaitDeadline {
 public:
  explicit WaitDeadline(int timeoutMs);
  ~WaitDeadline();
  WaitDeadline(const WaitDeadline&) = delete;
  WaitDeadline& operator=(const WaitDeadline&) = delete;
};

// Call once at start, on any thread: where the thread-local lies from the thread pointer.
void initWaitDeadlines();
// For a stopped thread whose fs_base is given: its deadline (CLOCK_MONOTONIC ns), 0 when
// it is in no timed wait.
uint64_t waitDeadlineOf(uint64_t fsBase);

}  // namespace tidemark::preload
