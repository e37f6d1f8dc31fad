// Deadlines of timed waits (see wait_deadline.h).
#include "wait_deadline.h"

#include <time.h>

namespace tidemark::preload {

namespace {

// initial-exec: at the same offset from every thread's pointer (fs_base), which is how
// the helper finds another thread's copy.
thread_local uint64_t tDeadlineNs __attribute__((tls_model("initial-exec"))) = 0;
intptr_t deadlineOffset = 0;
bool offsetKnown = false;

uint64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + ts.tv_nsec;
}

}  // namespace

WaitDeadline::WaitDeadline(int timeoutMs) {
  tDeadlineNs = timeoutMs > 0 ? monotonicNs() + uint64_t(timeoutMs) * 1'000'000u : 0;
}

WaitDeadline::~WaitDeadline() { tDeadlineNs = 0; }

void initWaitDeadlines() {
  deadlineOffset = reinterpret_cast<intptr_t>(&tDeadlineNs) -
                   reinterpret_cast<intptr_t>(__builtin_thread_pointer());
  offsetKnown = true;
}

uint64_t waitDeadlineOf(uint64_t fsBase) {
  if (!offsetKnown || fsBase == 0) return 0;
  return *reinterpret_cast<const volatile uint64_t*>(static_cast<intptr_t>(fsBase) +
                                                     deadlineOffset);
}

}  // namespace tidemark::preload
