// Deadlines of timed waits (see wait_deadline.h).
#include "wait_deadline.h"

#include "monotonic_clock.h"

namespace tidemark::preload {

namespace {

// initial-exec: at the same offset from every thread's pointer (fs_base), which is how
// the helper finds another thread's copy.
thread_local TimedWait tWait __attribute__((tls_model("initial-exec")));
intptr_t waitOffset = 0;
bool offsetKnown = false;

}  // namespace

WaitDeadline::WaitDeadline(int timeoutMs) : outer_(tWait) {
  tWait = {timeoutMs > 0 ? monotonicNs() + uint64_t(timeoutMs) * 1'000'000u : 0, nullptr};
}

WaitDeadline::WaitDeadline(timespec* timeout) : outer_(tWait) {
  bool timed = timeout->tv_sec > 0 || (timeout->tv_sec == 0 && timeout->tv_nsec > 0);
  uint64_t ns = uint64_t(timeout->tv_sec) * 1'000'000'000u + uint64_t(timeout->tv_nsec);
  tWait = {timed ? monotonicNs() + ns : 0, timeout};
}

WaitDeadline::~WaitDeadline() { tWait = outer_; }

void initWaitDeadlines() {
  waitOffset =
      reinterpret_cast<intptr_t>(&tWait) - reinterpret_cast<intptr_t>(__builtin_thread_pointer());
  offsetKnown = true;
}

TimedWait timedWaitOf(uint64_t fsBase) {
  if (!offsetKnown || fsBase == 0) return {};
  const auto* wait =
      reinterpret_cast<const volatile TimedWait*>(static_cast<intptr_t>(fsBase) + waitOffset);
  return {wait->deadlineNs, wait->timeout};
}

}  // namespace tidemark::preload
