// The trace of a process that a signal ends (see fatal_signals.h).
#include "fatal_signals.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "forwarded_signals.h"
#include "real_functions.h"
#include "signal_deferral.h"
#include "snapshot.h"
#include "tracer.h"

namespace tidemark::preload {

thread_local constinit unsigned tDeferringSections __attribute__((tls_model("initial-exec"))) = 0;
thread_local constinit volatile sig_atomic_t tDeferredSignal
    __attribute__((tls_model("initial-exec"))) = 0;

namespace {

// The signals whose default action ends the process. Not SIGTRAP: a debugger's breakpoint
// continues after its handler, it does not end anything.
constexpr int kFatalSignals[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGILL,    SIGABRT, SIGBUS,
                                 SIGFPE,  SIGUSR1, SIGSEGV, SIGUSR2,   SIGPIPE, SIGALRM,
                                 SIGTERM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGSYS};

bool isFatal(int signal) {
  for (int fatal : kFatalSignals) {
    if (fatal == signal) return true;
  }
  return false;
}

// A fault of the program's own instruction comes back when its handler returns: with the
// default action restored it then ends the process where it happened, core dump and all.
bool repeatsOnReturn(int signal, const siginfo_t* info) {
  return info && info->si_code > 0 &&
         (signal == SIGSEGV || signal == SIGBUS || signal == SIGILL || signal == SIGFPE);
}

// Delivered at once: the handler runs with SA_NODEFER.
void raiseAgain(int signal) { syscall(SYS_tgkill, getpid(), gettid(), signal); }

void setAction(int signal, sighandler_t action) {
  struct sigaction a {};
  a.sa_handler = action;
  sigemptyset(&a.sa_mask);
  real.sigaction(signal, &a, nullptr);
}

// The process whose first fatal signal is ending it. A pid, not a flag: a child forked
// meanwhile inherits the value, and must still die of its own signals.
std::atomic<pid_t> endingProcess{0};

// True for the first fatal signal of this process.
bool claimEnding() {
  pid_t self = getpid();
  pid_t seen = endingProcess.load();
  while (seen != self) {
    if (endingProcess.compare_exchange_weak(seen, self)) return true;
  }
  return false;
}

// Finishes the trace, then lets `signal` end the process as its default action does. The
// handler stays in place meanwhile, so a second delivery (`tidemark record` passes SIGTERM
// on, and a kill of its process group reaches both) finds the process ending already.
void endBySignal(int signal, const ucontext_t* interrupted) {
  if (!claimEnding()) return;  // another thread is ending the process
  if (interrupted) noteInterruptedThread(*interrupted);
  finishTracer(format::exitBySignal(signal));
  setAction(signal, SIG_DFL);
  raiseAgain(signal);
}

void onFatalSignal(int signal, siginfo_t* info, void* context) {
  // A handler of the program's had it from its sender, then put the default action back
  // (SA_RESETHAND, or by hand): it is shutting down its own way.
  if (repeatsDelivered(signal, info)) return;
  const auto* interrupted = static_cast<const ucontext_t*>(context);
  if (repeatsOnReturn(signal, info)) {
    // The trace is finished first unless the fault is in the tracer (its state may be
    // broken) or the allocator (a lock the end needs may be held); either way the
    // instruction then faults again, with the default action.
    if (!signalsDeferred() && claimEnding()) {
      noteInterruptedThread(*interrupted);
      finishTracer(format::exitBySignal(signal));
    }
    setAction(signal, SIG_DFL);
    return;
  }
  if (signalsDeferred()) {
    tDeferredSignal = signal;  // the trace is finished when the thread leaves the section
    return;
  }
  endBySignal(signal, interrupted);
}

}  // namespace

void catchFatalSignals() {
  if (!tracing()) return;
  struct sigaction tracer = tracerAction();
  for (int signal : kFatalSignals) {
    struct sigaction current {};
    if (real.sigaction(signal, nullptr, &current) != 0 || (current.sa_flags & SA_SIGINFO) ||
        current.sa_handler != SIG_DFL) {
      continue;  // ignored or handled: the program decides what the signal does
    }
    real.sigaction(signal, &tracer, nullptr);
  }
}

struct sigaction tracerAction() {
  struct sigaction action {};
  action.sa_sigaction = onFatalSignal;
  // No SA_RESTART: a call the signal interrupts inside the tracer returns, so its thread
  // leaves the tracer and ends the process.
  action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  return action;
}

bool standsInForDefault(int signal, sighandler_t handler) {
  return handler == SIG_DFL && isFatal(signal) && tracing();
}

void hideTracerHandler(struct sigaction* action) {
  if ((action->sa_flags & SA_SIGINFO) && action->sa_sigaction == onFatalSignal) {
    *action = {};
    action->sa_handler = SIG_DFL;
  }
}

void beforeRaise(int signal) {
  if (!isFatal(signal) || !tracing() || signalsDeferred()) return;
  struct sigaction current {};
  // The tracer's own handler, if still there, finishes the trace when the signal arrives.
  if (real.sigaction(signal, nullptr, &current) != 0 || (current.sa_flags & SA_SIGINFO) ||
      current.sa_handler != SIG_DFL || !claimEnding()) {
    return;
  }
  // The program's handler has put the default action back: a second delivery to another
  // thread (see endBySignal) would end the process before the trace.
  setAction(signal, SIG_IGN);
  finishTracer(format::exitBySignal(signal));
  setAction(signal, SIG_DFL);
}

void finishDeferredSignal(int signal) { endBySignal(signal, nullptr); }

}  // namespace tidemark::preload
