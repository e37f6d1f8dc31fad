// When a thread's epoll wait should time out, for the snapshot helper. A ptrace stop
// makes epoll_wait return EINTR; the helper restarts the call, and a restarted call would
// wait its whole relative timeout again — with snapshots more frequent than the timeout,
// a libuv timer would never fire. The hooks note the absolute deadline in a thread-local
// the helper reads through the stopped thread's fs_base, and the helper restarts the call
// with what remains of its timeout.
#pragma once

#include <time.h>

#include <cstdint>

namespace tidemark::preload {

// What a thread in a timed wait noted for the helper.
struct TimedWait {
  uint64_t deadlineNs = 0;      // CLOCK_MONOTONIC; 0: in no timed wait
  timespec* timeout = nullptr;  // epoll_pwait2: the hook's own copy of the timeout argument,
                                // which the helper may rewrite (the caller's may be const)
};

// Notes a wait's deadline for the call's duration. A signal handler's wait inside another
// wait's hook puts the outer one's back when it ends.
class WaitDeadline {
 public:
  explicit WaitDeadline(int timeoutMs);      // < 0: none
  explicit WaitDeadline(timespec* timeout);  // relative; the call must be given this copy
  ~WaitDeadline();
  WaitDeadline(const WaitDeadline&) = delete;
  WaitDeadline& operator=(const WaitDeadline&) = delete;

 private:
  TimedWait outer_;
};

// Call once at start, on any thread: where the thread-local lies from the thread pointer.
void initWaitDeadlines();
// For a stopped thread whose fs_base is given: the wait it noted.
TimedWait timedWaitOf(uint64_t fsBase);

}  // namespace tidemark::preload
