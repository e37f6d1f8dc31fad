// The program's handlers of asynchronous signals run outside the tracer and the real
// allocator. A handler that interrupted a thread half way through a live-table update and
// called exit(), as many C daemons' SIGTERM handlers do, made the exit snapshot wait its
// 500 ms for that thread and come out incomplete (6 runs of 8); one that allocated did so
// past the hooks. The sigaction and signal hooks give the kernel a trampoline in place of
// such a handler, with the program's mask and flags. A signal that lands while its thread
// is in such a section is held, and blocked in that thread (more of it wait in the
// kernel's queue); the moment the thread leaves (signal_deferral.h) it is sent again to
// the thread with the same siginfo and unblocked. Elsewhere the trampoline calls the
// handler at once. Fault signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) and
// SIGABRT (glibc's abort on a corrupt heap) are left as they are: their handlers must run
// where the fault is.
#pragma once

#include <signal.h>

namespace tidemark::preload {

// The sigaction hook: the program sets and reads its own actions; the kernel holds the
// tracer's stand-ins (the trampoline; for a fatal signal's default action, the tracer's
// handler, fatal_signals.h).
int setProgramAction(int signal, const struct sigaction* action, struct sigaction* old);

// The signal hooks, as glibc sets an action for them: `signal` and `bsd_signal` block the
// signal in its handler and restart interrupted calls (SA_RESTART) unless siginterrupt
// said otherwise, `sysv_signal` resets the action when it runs (SA_RESETHAND |
// SA_NODEFER). The previous handler or SIG_ERR.
sighandler_t setProgramHandler(int signal, sighandler_t handler, int flags, bool blockedInHandler);

// The siginterrupt hook: glibc keeps which signals interrupt calls in a set of its own,
// which its signal() reads and the hook cannot; so the tracer keeps its copy.
void noteInterrupting(int signal, bool interrupts);
// SA_RESTART, or 0 after siginterrupt(signal, 1): the flags `signal` sets.
int restartFlags(int signal);

// The sigset hook (System V): SIG_HOLD blocks the signal; anything else sets the action
// (no flags, nothing blocked in the handler) and unblocks it. The previous handler, or
// SIG_HOLD when the signal was blocked.
sighandler_t setProgramDisposition(int signal, sighandler_t disposition);

// In a forked child: signals its parent held are none of the child's.
void forgetHeldSignals();

}  // namespace tidemark::preload
