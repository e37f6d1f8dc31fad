// The program's signal handlers, run outside the tracer (see program_signals.h).
#include "program_signals.h"

#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "fatal_signals.h"
#include "forwarded_signals.h"
#include "real_functions.h"
#include "signal_deferral.h"
#include "tracer.h"

namespace tidemark::preload {

thread_local constinit volatile sig_atomic_t tHeldSignals
    __attribute__((tls_model("initial-exec"))) = 0;

namespace {

// A held signal stays blocked in its thread until it is sent again, so that more of it
// wait in the kernel's queue (a real-time signal held comes back behind those of its
// number that queued meanwhile): one slot per signal number the thread takes while in
// one section (more than this, and the rest run at once).
constexpr int kMaxHeld = 8;
thread_local constinit siginfo_t tHeld[kMaxHeld] __attribute__((tls_model("initial-exec")));

// The program's handler behind the trampoline, per signal; 0 when the kernel has the
// program's action itself. Set before the kernel gets the trampoline, so that the
// trampoline always finds one.
struct ProgramHandler {
  std::atomic<uintptr_t> handler{0};
  std::atomic<int> flags{0};  // the program's sa_flags
};
ProgramHandler handlers[_NSIG];

// Not the faults, whose handlers must run where the fault is, nor SIGABRT: raised inside
// the allocator, it is glibc's abort on a corrupt heap, which goes on to end the process
// with the default action once the handler returns (a crash reporter would never run).
bool deferrable(int signal) {
  switch (signal) {
    case SIGABRT:
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGTRAP:
    case SIGSYS:
    case SIGKILL:
    case SIGSTOP:
      return false;
  }
  return signal > 0 && signal < _NSIG;
}

sigset_t blockAll() {
  sigset_t all, saved;
  sigfillset(&all);
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &saved, _NSIG / 8);
  return saved;
}

void restoreMask(const sigset_t& saved) {
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &saved, nullptr, _NSIG / 8);
}

// Notes the signal for delivery when the thread leaves the section, and blocks it once
// the trampoline returns; false when there is no room (the handler then runs now).
bool hold(int signal, const siginfo_t* info, ucontext_t* context) {
  sigset_t saved = blockAll();  // another signal must not interrupt this
  int count = tHeldSignals;
  bool held = count < kMaxHeld;
  if (held) {
    tHeld[count] = *info;
    tHeld[count].si_signo = signal;
    tHeldSignals = count + 1;
    sigaddset(&context->uc_sigmask, signal);  // the mask the kernel restores on return
  }
  restoreMask(saved);
  return held;
}

void runProgramHandler(int signal, siginfo_t* info, void* context) {
  if (repeatsDelivered(signal, info)) return;  // the program had it from its sender
  noteDelivered(signal, info);
  uintptr_t handler = handlers[signal].handler.load(std::memory_order_acquire);
  int flags = handlers[signal].flags.load(std::memory_order_relaxed);
  if (flags & SA_RESETHAND) {  // what the kernel does before such a handler runs
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    setProgramAction(signal, &fallback, nullptr);
  }
  if (handler == 0) return;  // the program changed the action while this was on its way
  if (flags & SA_SIGINFO) {
    reinterpret_cast<void (*)(int, siginfo_t*, void*)>(handler)(signal, info, context);
  } else {
    reinterpret_cast<void (*)(int)>(handler)(signal);
  }
}

void onProgramSignal(int signal, siginfo_t* info, void* context) {
  if (programHandlersDeferred() && hold(signal, info, static_cast<ucontext_t*>(context))) return;
  runProgramHandler(signal, info, context);
}

bool isTrampoline(const struct sigaction& action) {
  return (action.sa_flags & SA_SIGINFO) && action.sa_sigaction == onProgramSignal;
}

// Sends the held signals again, to this thread, as they came, and unblocks them: their
// handlers run as the kernel delivers them (and any more of them that waited), with the
// program's mask.
void releaseHeldSignals() {
  int savedErrno = errno;  // the section may be an allocation that set it
  sigset_t saved = blockAll();
  pid_t pid = getpid();
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  for (int i = 0; i < tHeldSignals; ++i) {
    // With RLIMIT_SIGPENDING signals queued already, a real-time signal is lost here, as
    // a sigqueue() of it would have failed (a standard one still comes, its siginfo lost).
    syscall(SYS_rt_tgsigqueueinfo, pid, tid, tHeld[i].si_signo, &tHeld[i]);
    sigdelset(&saved, tHeld[i].si_signo);
  }
  tHeldSignals = 0;
  restoreMask(saved);
  errno = savedErrno;
}

}  // namespace

void leaveDeferral(unsigned left) {
  if (tHeldSignals && left % kLoaderSection == 0) releaseHeldSignals();
  if (tDeferredSignal && left == 0) {
    int signal = tDeferredSignal;
    tDeferredSignal = 0;
    finishDeferredSignal(signal);
  }
}

int setProgramAction(int signal, const struct sigaction* action, struct sigaction* old) {
  bool known = signal > 0 && signal < _NSIG;
  uintptr_t previousHandler = known ? handlers[signal].handler.load() : 0;
  int previousFlags = known ? handlers[signal].flags.load() : 0;
  // A vfork child shares this table with its parent: it must not change what the
  // parent's trampolines call.
  bool own = known && isTracedProcess();
  struct sigaction given;
  bool wrapped = false;
  if (action && own && tracing()) {
    // sa_handler and sa_sigaction share their storage: SIG_DFL and SIG_IGN are either.
    sighandler_t handler = action->sa_handler;
    if (!(action->sa_flags & SA_SIGINFO) && standsInForDefault(signal, handler)) {
      given = tracerAction();
      action = &given;
    } else if (deferrable(signal) && handler != SIG_DFL && handler != SIG_IGN) {
      given = *action;
      given.sa_sigaction = onProgramSignal;
      given.sa_flags = (action->sa_flags | SA_SIGINFO) & ~SA_RESETHAND;
      handlers[signal].flags.store(action->sa_flags, std::memory_order_relaxed);
      handlers[signal].handler.store(reinterpret_cast<uintptr_t>(action->sa_handler),
                                     std::memory_order_release);
      wrapped = true;
      action = &given;
    }
  }
  int result = real.sigaction(signal, action, old);
  if (own && action && (result != 0 || !wrapped)) {
    // Failed: the previous handler stands; not wrapped: no trampoline will ask.
    uintptr_t standing = result != 0 ? previousHandler : 0;
    handlers[signal].flags.store(result != 0 ? previousFlags : 0, std::memory_order_relaxed);
    handlers[signal].handler.store(standing, std::memory_order_release);
  }
  if (result == 0 && old) {
    hideTracerHandler(old);
    if (isTrampoline(*old)) {  // the program's own action back, as it set it
      old->sa_handler = reinterpret_cast<sighandler_t>(previousHandler);
      old->sa_flags = (old->sa_flags & ~(SA_SIGINFO | SA_RESETHAND)) |
                      (previousFlags & (SA_SIGINFO | SA_RESETHAND));
    }
  }
  return result;
}

namespace {
std::atomic<bool> interrupting[_NSIG];
}  // namespace

void noteInterrupting(int signal, bool interrupts) {
  // Not a vfork child's: it shares this table with its parent.
  if (signal > 0 && signal < _NSIG && isTracedProcess()) interrupting[signal].store(interrupts);
}

int restartFlags(int signal) {
  return signal > 0 && signal < _NSIG && interrupting[signal].load() ? 0 : SA_RESTART;
}

sighandler_t setProgramHandler(int signal, sighandler_t handler, int flags, bool blockedInHandler) {
  struct sigaction action {};
  struct sigaction old {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  if (blockedInHandler && signal > 0 && signal < _NSIG) sigaddset(&action.sa_mask, signal);
  action.sa_flags = flags;
  if (setProgramAction(signal, &action, &old) != 0) return SIG_ERR;
  return old.sa_handler;
}

sighandler_t setProgramDisposition(int signal, sighandler_t disposition) {
  if (disposition == SIG_ERR || signal < 1 || signal >= _NSIG) {
    errno = EINVAL;
    return SIG_ERR;
  }
  sigset_t only, before;
  sigemptyset(&only);
  sigaddset(&only, signal);
  struct sigaction old {};
  if (disposition == SIG_HOLD) {
    if (sigprocmask(SIG_BLOCK, &only, &before) != 0) return SIG_ERR;
    if (sigismember(&before, signal)) return SIG_HOLD;
    if (setProgramAction(signal, nullptr, &old) != 0) return SIG_ERR;
    return old.sa_handler;
  }
  struct sigaction action {};
  action.sa_handler = disposition;
  sigemptyset(&action.sa_mask);
  if (setProgramAction(signal, &action, &old) != 0) return SIG_ERR;
  if (sigprocmask(SIG_UNBLOCK, &only, &before) != 0) return SIG_ERR;
  return sigismember(&before, signal) ? SIG_HOLD : old.sa_handler;
}

void forgetHeldSignals() {
  if (tHeldSignals == 0) return;  // the usual case: no system call in every forked child
  sigset_t held;
  sigemptyset(&held);
  for (int i = 0; i < tHeldSignals; ++i) sigaddset(&held, tHeld[i].si_signo);
  syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &held, nullptr, _NSIG / 8);
  tHeldSignals = 0;
}

}  // namespace tidemark::preload
