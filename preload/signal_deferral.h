// Sections of a thread where signals wait until it has left them. A fatal signal (see
// fatal_signals.h) waits in the tracer (a live-table update half done, which the exit
// snapshot would wait for), the real allocator (an arena's lock held), fork (every
// arena's lock held) and dlopen/dlclose (the loader's lock held): finishing the trace
// there would wait on what the interrupted thread holds. A handler of the program's
// (program_signals.h) waits only in the tracer and the allocator: fork and dlopen run
// the program's own code (atfork handlers, constructors), which may wait for a handler.
#pragma once

#include <signal.h>

namespace tidemark::preload {

// Sections the thread is in: the tracer's and the allocator's count one each, the
// loader's and fork's kLoaderSection each.
inline constexpr unsigned kLoaderSection = 1u << 16;

// initial-exec: read in malloc's hooks and in signal handlers, where the general-dynamic
// model could call __tls_get_addr, which allocates on first use.
extern thread_local constinit unsigned tDeferringSections
    __attribute__((tls_model("initial-exec")));
extern thread_local constinit volatile sig_atomic_t tDeferredSignal
    __attribute__((tls_model("initial-exec")));
// How many signals for the program's handlers wait (program_signals.cpp).
extern thread_local constinit volatile sig_atomic_t tHeldSignals
    __attribute__((tls_model("initial-exec")));

// Delivers what waited for the sections the thread has left (`left`: the count now).
void leaveDeferral(unsigned left);

// Marks the calling thread as in such a section for its lifetime.
class SignalDeferral {
 public:
  explicit SignalDeferral(unsigned weight = 1) : weight_(weight) { tDeferringSections += weight; }
  ~SignalDeferral() {
    unsigned left = tDeferringSections -= weight_;
    if (__builtin_expect((tDeferredSignal | tHeldSignals) != 0, 0)) leaveDeferral(left);
  }
  SignalDeferral(const SignalDeferral&) = delete;
  SignalDeferral& operator=(const SignalDeferral&) = delete;

 private:
  unsigned weight_;
};

// A fatal signal waits.
inline bool signalsDeferred() { return tDeferringSections > 0; }
// A handler of the program's waits: the thread is in the tracer or the allocator.
inline bool programHandlersDeferred() { return (tDeferringSections % kLoaderSection) > 0; }

}  // namespace tidemark::preload
