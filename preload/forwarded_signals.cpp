// Record's copies of signals the program got already (see forwarded_signals.h). Called in
// signal handlers: atomics, the vDSO clock and getppid only.
#include "forwarded_signals.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "../format/forwarded_signals.h"
#include "monotonic_clock.h"

namespace tidemark::preload {

namespace {

// record passes a signal on 100 ms after it got it; the program's own copy is delivered
// when the kill is made, or once a snapshot's pause lets it run.
constexpr uint64_t kPairNs = 1'000'000'000;

struct Delivery {
  std::atomic<int64_t> sender{-1};
  std::atomic<uint64_t> atNs{0};
};
Delivery lastDelivered[_NSIG];  // of the signals record passes on

// The original's sender when this is record's copy of a signal, else -1.
int64_t forwardedFrom(const siginfo_t* info) {
  if (!info || info->si_code != SI_QUEUE) return -1;
  if (info->si_pid != static_cast<pid_t>(syscall(SYS_getppid))) return -1;
  return format::forwardedSignalSender(reinterpret_cast<uint64_t>(info->si_value.sival_ptr));
}

}  // namespace

void noteDelivered(int signal, const siginfo_t* info) {
  if (!format::isForwardedSignal(signal) || !info || forwardedFrom(info) >= 0) return;
  Delivery& d = lastDelivered[signal];
  d.atNs.store(monotonicNs(), std::memory_order_relaxed);
  // As record names a sender: si_pid means nothing in the kernel's own signals.
  d.sender.store(info->si_code <= 0 ? info->si_pid : 0, std::memory_order_release);
}

bool repeatsDelivered(int signal, const siginfo_t* info) {
  int64_t sender = format::isForwardedSignal(signal) ? forwardedFrom(info) : -1;
  if (sender < 0) return false;
  const Delivery& d = lastDelivered[signal];
  return d.sender.load(std::memory_order_acquire) == sender &&
         monotonicNs() - d.atNs.load(std::memory_order_relaxed) < kPairNs;
}

}  // namespace tidemark::preload
