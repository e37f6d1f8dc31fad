// A process ended by a signal's default action (SIGTERM from a test harness, SIGINT from
// Ctrl-C, a crash) finishes its trace as exit() does: exit snapshot, last events, trailer
// naming the signal; then the signal ends it as it would have.
//
// Two ways in. The tracer handles each such signal whose action is the default, at start and
// whenever the program sets the default, and hides that handler from the program's own
// sigaction/signal queries (a handler the program installs replaces it). And a program
// that handles the signal itself and ends by raising it again with the default action
// restored (Node.js does) is caught in raise(). A signal landing where finishing the trace
// would wait on what its thread holds waits itself (signal_deferral.h).
#pragma once

#include <signal.h>

namespace tidemark::preload {

// At start: handles the terminating signals whose action is the default.
void catchFatalSignals();

// In the sigaction and signal hooks (program_signals.h): the default action the program
// sets for such a signal is the tracer's handler again (Node.js resets every action at
// start), and the tracer's handler reads back as the default action.
bool standsInForDefault(int signal, sighandler_t handler);
struct sigaction tracerAction();
void hideTracerHandler(struct sigaction* action);

// Before raise(signal): when that ends the process, the trace is finished first.
void beforeRaise(int signal);

// A fatal signal that waited for its thread to leave a section (signal_deferral.h):
// finishes the trace and raises it again.
void finishDeferredSignal(int signal);

}  // namespace tidemark::preload
