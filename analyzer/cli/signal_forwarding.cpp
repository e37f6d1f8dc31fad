// Passing SIGTERM and SIGHUP on to the traced program (see signal_forwarding.h).
#include "signal_forwarding.h"

#include <time.h>

#include <atomic>
#include <cstdint>

#include "forwarded_signals.h"

namespace tidemark::cli {
namespace {

constexpr int64_t kDelayMs = 100;

pid_t forwardedTo = 0;
std::atomic<int> received{0};  // the signal waiting to be passed on, 0 when none
std::atomic<int64_t> receivedMs{0};
std::atomic<pid_t> sender{0};  // of that signal (0: the kernel, as for a terminal's hangup)

int64_t nowMs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);  // async-signal-safe
  return t.tv_sec * 1000 + t.tv_nsec / 1'000'000;
}

void onSignal(int signal, siginfo_t* info, void*) {
  receivedMs.store(nowMs());
  sender.store(info->si_code <= 0 ? info->si_pid : 0);  // si_pid is the kernel's otherwise
  received.store(signal);
}

}  // namespace

SignalForwarding::SignalForwarding() {
  struct sigaction action {};
  action.sa_sigaction = onSignal;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int signal : format::kForwardedSignals) {
    sigaction(signal, &action, nullptr);
    sigaddset(&forwarded, signal);
  }
  sigprocmask(SIG_BLOCK, &forwarded, &before_);
  waitMask_ = before_;
  for (int signal : format::kForwardedSignals) sigdelset(&waitMask_, signal);
}

void SignalForwarding::forwardTo(pid_t program) { forwardedTo = program; }

void SignalForwarding::leaveToChild() const {
  for (int forwarded : format::kForwardedSignals) signal(forwarded, SIG_DFL);
  sigprocmask(SIG_SETMASK, &before_, nullptr);  // a signal sent meanwhile ends it now
}

int SignalForwarding::forwardDue() {
  int signal = received.load();
  if (signal == 0 || forwardedTo <= 0) return -1;
  int64_t left = receivedMs.load() + kDelayMs - nowMs();
  if (left > 0) return static_cast<int>(left);
  received.store(0);
  // Marked as ours, with the original's sender: a program that got the original too (a
  // kill of the process group) does not see it twice (format/forwarded_signals.h).
  sigval value{};
  value.sival_ptr = reinterpret_cast<void*>(format::forwardedSignalValue(sender.load()));
  if (sigqueue(forwardedTo, signal, value) != 0) kill(forwardedTo, signal);
  return -1;
}

}  // namespace tidemark::cli
