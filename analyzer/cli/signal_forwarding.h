// `tidemark record` passes SIGTERM and SIGHUP on to the program: stopping the run (by
// `timeout`, a test harness, a closed terminal) stops the program, and record waits for
// its end, its exit snapshot and its report. A kill of the whole process group reaches
// the program too: the signal passed on says so (format/forwarded_signals.h), and the
// tracer lets the program see only one. Passing it on 100 ms later, not at once, keeps
// the second delivery out of the moment the program's own handler puts the default
// action back (Node.js does, then raises the signal again).
#pragma once

#include <signal.h>

namespace tidemark::cli {

class SignalForwarding {
 public:
  // Handles SIGTERM and SIGHUP in this process from now on, before the program is forked:
  // one sent as soon as the program runs (a harness that waits for its first output) was
  // record's death by the default action, with no report. They stay blocked but while the
  // caller waits in ppoll with waitMask(): a signal then ends the wait, and none can come
  // between a look at forwardDue() and the wait.
  SignalForwarding();
  // Who gets them: the program, once forked.
  void forwardTo(pid_t program);
  // In the forked child, before exec: the program starts with the default actions and
  // the mask record had.
  void leaveToChild() const;
  const sigset_t* waitMask() const { return &waitMask_; }

  // Passes on a signal received 100 ms ago or more. Returns the milliseconds until the
  // next one is due, or -1 when none is waiting.
  int forwardDue();

 private:
  sigset_t before_;    // the mask before
  sigset_t waitMask_;  // that, with SIGTERM and SIGHUP let through
};

}  // namespace tidemark::cli
