// Tracer lifecycle: start in the library constructor, finish at exit, and a fresh trace
// in a forked child (see tracer.h).
#include "tracer.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

#include "cxx_runtime.h"
#include "fatal_signals.h"
#include "heap_guard.h"
#include "loader_walks.h"
#include "monotonic_clock.h"
#include "program_signals.h"
#include "real_functions.h"
#include "recorder.h"
#include "ring.h"
#include "signal_deferral.h"
#include "snapshot.h"
#include "stack_capture.h"
#include "stack_table.h"
#include "trace_file.h"
#include "wait_deadline.h"
#include "writer.h"

namespace tidemark::preload {
namespace {

std::atomic<Lifecycle> state{Lifecycle::Uninitialized};
std::atomic<uint64_t> dropped{0};
constinit Options currentOptions;
constinit StackTable stacks;
bool snapshots = false;
bool clearFreed = false;
uint64_t startNs = 0;
pid_t tracedPid = 0;

// Opens a trace for the current process image and enables recording. A forked child's
// trace starts with the heap it inherited.
void beginTrace(uint32_t execGeneration, bool inheritedHeap) {
  startNs = monotonicNs();
  tracedPid = getpid();
  dropped.store(0, std::memory_order_relaxed);
  if (!startWriter(execGeneration, inheritedHeap)) {
    state.store(Lifecycle::Disabled, std::memory_order_release);
    return;
  }
  state.store(Lifecycle::Enabled, std::memory_order_release);
}

void afterForkInChild() {
  // Whatever the tracer's state: a parent's guarded scan is none of this child's frees,
  // and a signal its parent deferred while forking is none of this child's either.
  forgetGuardedScanAfterFork();
  resetLoaderWalksInChild();
  tDeferredSignal = 0;
  forgetHeldSignals();
  // Forked while the parent's trace ends: no trace here, and nobody drains the rings.
  stopRecording();
  if (state.load(std::memory_order_acquire) != Lifecycle::Enabled) return;
  TracerScope scope;
  state.store(Lifecycle::Initializing, std::memory_order_release);
  abandonWriterAfterFork();
  abandonSnapshotAfterFork();
  stacks.afterFork();
  rings.resetAfterFork(currentRing());
  beginTrace(0, true);
  reattachThreadAfterFork();
}

// Whether two functions are defined by the same loaded object: an allocator that replaces
// free but not malloc_usable_size would have glibc's read a header its blocks lack.
bool sameObject(void* a, void* b) {
  Dl_info ia, ib;
  return a && b && dladdr(a, &ia) && dladdr(b, &ib) && ia.dli_fbase == ib.dli_fbase;
}

// What libc's constructor sets (glibc's __libc_init_first and __init_misc), when it has
// not run yet: environ is null then, the names are empty strings.
void setLibcProgramArguments(char** argv, char** envp) {
  if (!environ) environ = envp;
  if ((!program_invocation_name || !*program_invocation_name) && argv && argv[0]) {
    program_invocation_name = argv[0];
    char* slash = strrchr(argv[0], '/');
    program_invocation_short_name = slash ? slash + 1 : argv[0];
  }
}

}  // namespace

bool tracing() { return state.load(std::memory_order_relaxed) == Lifecycle::Enabled; }
bool recording() {
  Lifecycle now = state.load(std::memory_order_relaxed);
  return now == Lifecycle::Enabled || now == Lifecycle::Stopping;
}
void stopRecording() {
  Lifecycle expected = Lifecycle::Stopping;
  state.compare_exchange_strong(expected, Lifecycle::Disabled);
}
bool isTracedProcess() { return getpid() == tracedPid; }
void disableAfterWriteFailure() {
  Lifecycle expected = Lifecycle::Enabled;
  state.compare_exchange_strong(expected, Lifecycle::Disabled);
}

const Options& options() { return currentOptions; }
uint64_t traceStartMonotonicNs() { return startNs; }
StackTable& stackTable() { return stacks; }
bool snapshotsEnabled() { return snapshots; }
bool clearingFreedBlocks() { return clearFreed; }
void countDroppedEvent() { dropped.fetch_add(1, std::memory_order_relaxed); }
uint64_t droppedEvents() { return dropped.load(std::memory_order_relaxed); }

namespace {

// The tracer reserves a few hundred MiB of address space up front (the stack table's
// store alone is 256 MiB, touched as it fills). Under a limit on the address space
// (ulimit -v) that is the program's to lose: below 1 GiB the program runs untraced, and
// the tracer says why.
bool roomInAddressSpace() {
  rlimit limit{};
  constexpr rlim_t kLeast = rlim_t{1} << 30;
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur >= kLeast) return true;
  char line[256];
  int n = snprintf(line, sizeof line,
                   "tidemark: pid %d: the address space is limited to %llu MiB (ulimit -v), too "
                   "little for the tracer (1 GiB or more): the program runs untraced\n",
                   getpid(), static_cast<unsigned long long>(limit.rlim_cur >> 20));
  writeToStderr(line, static_cast<size_t>(n));
  return false;
}

}  // namespace

void startTracer(char** argv, char** envp) {
  setLibcProgramArguments(argv, envp);  // before anything can call the program's allocator
  Lifecycle expected = Lifecycle::Uninitialized;
  if (!state.compare_exchange_strong(expected, Lifecycle::Initializing)) return;
  TracerScope scope;
  resolveRealFunctions();
  resolveCxxRuntime();
  currentOptions = readOptions();
  keepStderr();
  if (!roomInAddressSpace()) {  // before anything takes tracer memory
    state.store(Lifecycle::Disabled, std::memory_order_release);
    return;
  }
  initStackCapture(currentOptions.verifyUnwind);
  initThreadExitKey();
  initWaitDeadlines();
  if (!real.malloc || !real.free || !stacks.init() || !rings.init()) {
    state.store(Lifecycle::Disabled, std::memory_order_release);
    return;
  }
  snapshots = (currentOptions.snapshotAtExit || currentOptions.snapshotIntervalMs > 0 ||
               currentOptions.snapshotSignal > 0) &&
              initSnapshots();
  clearFreed = snapshots && currentOptions.clearFreed &&
               sameObject(reinterpret_cast<void*>(real.malloc_usable_size),
                          reinterpret_cast<void*>(real.free));
  // `tidemark snapshot PID` sends this signal to the writer thread alone (tgkill), so no
  // call of the program is interrupted. Sent to the whole process by someone else, it may
  // land on a program thread: SA_RESTART then keeps that thread's restartable calls going.
  if (snapshots && currentOptions.snapshotSignal > 0 &&
      static_cast<int>(currentOptions.snapshotSignal) <= SIGRTMAX) {
    struct sigaction action {};
    action.sa_handler = [](int) { requestSnapshot(format::SnapshotTrigger::Signal); };
    action.sa_flags = SA_RESTART;
    real.sigaction(static_cast<int>(currentOptions.snapshotSignal), &action, nullptr);
  }
  pthread_atfork(holdLoaderWalks, releaseLoaderWalks, afterForkInChild);
  beginTrace(0, false);
  catchFatalSignals();  // after the snapshot signal's handler, which it then leaves alone
}

void finishTracer(format::ExitReason reason) {
  // Only the traced process itself: a vfork child shares our memory but not our writer.
  if (!isTracedProcess()) return;
  Lifecycle expected = Lifecycle::Enabled;
  if (!state.compare_exchange_strong(expected, Lifecycle::Stopping)) return;
  TracerScope scope;
  // A fatal signal's handler has noted the interrupted registers (fatal_signals.h).
  if (format::signalOfExit(reason) == 0) noteCallerOfTracer();
  stopWriter(reason);
  state.store(Lifecycle::Disabled, std::memory_order_release);
}

bool checkpointBeforeExec() {
  // A vfork child shares our memory, and would hold our writer (as in finishTracer).
  if (!isTracedProcess() || !tracing()) return false;
  TracerScope scope;
  holdWriterForExec();
  return true;
}

void afterExecFailed() {
  TracerScope scope;
  releaseWriterAfterExec();
}

}  // namespace tidemark::preload
