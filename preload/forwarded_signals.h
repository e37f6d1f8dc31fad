// The program sees a signal once when both it and `tidemark record` got it from one
// sender (a kill of the process group) and record passed its own on as well
// (format/forwarded_signals.h). Untraced, the program gets one: a server whose first
// SIGTERM starts a graceful shutdown and whose second forces an exit (many do) went down
// the hard way under `timeout`.
#pragma once

#include <signal.h>

namespace tidemark::preload {

// Notes a signal that a handler of the program's is about to run for.
void noteDelivered(int signal, const siginfo_t* info);

// Whether this is record's copy of a signal that reached a handler of the program's from
// the same sender within the last second: nothing is to run for it.
bool repeatsDelivered(int signal, const siginfo_t* info);

}  // namespace tidemark::preload
