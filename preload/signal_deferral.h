// Sections of a thread where a fatal signal waits until it has left them (see
// fatal_signals.h): the tracer (a live-table update half done, which the exit snapshot
// would wait for), the real allocator (an arena's lock held), fork (every arena's lock
// held) and dlopen/dlclose (the loader's lock held). Finishing the trace there would wait
// on what the interrupted thread holds.
#pragma once

#include <signal.h>

namespace tidemark::preload {

// initial-exec: read in malloc's hooks and in signal handlers, where the general-dynamic
// model could call __tls_get_addr, which allocates on first use.
extern thread_local constinit unsigned tDeferringSections
    __attribute__((tls_model("initial-exec")));
extern thread_local constinit volatile sig_atomic_t tDeferredSignal
    __attribute__((tls_model("initial-exec")));

// Finishes the trace and raises `signal` again (fatal_signals.cpp).
void finishDeferredSignal(int signal);

// Marks the calling thread as in such a section for its lifetime.
class SignalDeferral {
 public:
  SignalDeferral() { ++tDeferringSections; }
  ~SignalDeferral() {
    if (--tDeferringSections == 0 && __builtin_expect(tDeferredSignal != 0, 0)) {
      int signal = tDeferredSignal;
      tDeferredSignal = 0;
      finishDeferredSignal(signal);
    }
  }
  SignalDeferral(const SignalDeferral&) = delete;
  SignalDeferral& operator=(const SignalDeferral&) = delete;
};

inline bool signalsDeferred() { return tDeferringSections > 0; }

}  // namespace tidemark::preload
