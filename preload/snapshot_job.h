// What the three parties of a heap-graph snapshot share (SNAPSHOTS.md): the writer thread
// that prepares it, the helper task that stops the program's threads and makes the copy,
// and the scanning child that walks the frozen copy. It lives in mmap'ed memory, so the
// helper shares it and the child gets it in its copy; the tracer's own memory is never a
// snapshot root.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <atomic>
#include <cstdint>

#include "../format/trace_format.h"
#include "mapping_changes.h"
#include "range_set.h"

namespace tidemark::preload {

struct HeapGuard;
struct Ring;

struct SnapshotJob {
  static constexpr uint32_t kMaxThreads = 4096;
  static constexpr uint32_t kMaxSegments = 1024;
  static constexpr size_t kStackBytes = 256 * 1024;  // for the helper, and the child's

  using Range = AddressRange;
  struct Thread {
    int32_t tid;
    int32_t pendingSignal;  // taken from a signal-delivery stop; given back at detach
    bool seized;
    bool stopped;
    bool gone;
    bool interrupted;  // since it was last resumed
    Ring* ring;        // its ring, once the stop has looked (nullptr: none)
    user_regs_struct regs;
  };
  // threads[] by tid: index + 1 in an open-addressed table, 0 for an empty slot. Found
  // by a linear search, thousands of threads made the stop quadratic.
  static constexpr uint32_t kThreadSlots = 2 * kMaxThreads;

  // Prepared by the writer thread.
  pid_t pid;
  pid_t creatorTid;  // the writer thread: never stopped
  int outFd;         // the pipe the child writes records into
  int inFd;          // its read end, which the child closes: it must not keep it open
  // Whether the program is dumpable (PR_GET_DUMPABLE): one that changed its user or group
  // is not, and cannot be ptraced until it is again. The stop makes it dumpable for its
  // duration, as LeakSanitizer's does; the child, made then, goes back to this.
  bool programDumpable;
  uint32_t id;
  format::SnapshotTrigger trigger;
  uint64_t timeUs;
  uint32_t segmentCount;
  Range segments[kMaxSegments];  // writable segments of loaded objects, not the tracer's
  uint32_t ownSegmentCount;
  Range ownSegments[16];  // the tracer's own writable segments: never roots
  Range mallocState;      // glibc malloc's main arena (malloc_state.h): never a root
  uint64_t creatorStack;  // an address on the writer thread's stack: never a root
  // The thread a fatal signal interrupted (0: none) and its registers then: the tracer's
  // handler runs below them on its stack, over frames that were dead (fatal_signals.h).
  // Or the thread that called into the tracer to end the trace, and its registers at that
  // call (interruptedAtCall): below its stack pointer there is no live red zone then.
  pid_t interruptedTid;
  user_regs_struct interruptedRegs;
  bool interruptedAtCall;
  // Stack mappings of threads that ended (glibc keeps them for reuse): only the thread
  // control block and TLS at their top are live data, the frames below are dead.
  static constexpr uint32_t kMaxDeadStacks = 1024;
  uint32_t deadStackCount;
  Range deadStacks[kMaxDeadStacks];
  // Mappings marked MADV_DONTFORK (dont_fork.h): forkable only around the clone; every
  // mapping there was when they were listed (at most vm.max_map_count's default), and
  // the first mapping change (mapping_changes.h) the listing may have missed.
  static constexpr uint32_t kMaxDontFork = 16384;
  static constexpr uint32_t kMaxMappings = 65536;
  uint32_t dontForkCount;
  Range dontFork[kMaxDontFork];
  uint32_t mappingCount;
  Range mappings[kMaxMappings];
  uint64_t changesFrom;
  uint64_t dontForkChangesFrom;  // dontForkChangesNoted() then
  // The helper leaves them all as they were at its stop, for the next snapshot to start
  // from instead of listing again (reading smaps costs about 20 ms per GB of heap).
  bool listingCurrent;
  pid_t listedPid;  // a forked child has other mappings: it lists its own
  uint64_t listedNs;
  // Filled in by the helper: what the program mapped since the listing, and what it made
  // forkable or unmapped (also made forkable for the clone: its thread may have stopped
  // between the hook's note and the system call).
  uint32_t mappedSinceCount;
  Range mappedSince[kMaxDontFork];
  uint32_t releasedSinceCount;
  Range releasedSince[kMaxDontFork];
  uint32_t notedEdgeCount;  // the begins and ends of the changes noted since, sorted
  uint64_t notedEdges[2 * kMappingChangeSlots];
  uint32_t mappingNowCount;  // the mappings at the stop, for the next snapshot
  Range mappingsNow[kMaxMappings];
  // With the heap guarded (heap_guard.h): the guard; nullptr without.
  HeapGuard* guard;
  uint64_t tlsBelow;    // static TLS below a thread's fs_base
  uint64_t deadlineNs;  // CLOCK_MONOTONIC; threads not stopped by then: incomplete

  // Filled in by the helper.
  uint32_t threadCount;
  Thread threads[kMaxThreads];
  uint16_t threadSlots[kThreadSlots];
  // Why the snapshot is incomplete (format::kSnapshotIncomplete and kSnapshotThreads*
  // bits), 0 while it is not; and how many threads the stop did not hold.
  uint32_t incomplete;
  uint32_t threadsNotStopped;
  uint64_t pauseNs;
  pid_t childPid;
  int childErrno;  // why the copy could not be made, when childPid is -1
  // A pipe the helper closes once every thread runs again; the child waits for it (at
  // most kStartGateMs) before it scans. -1: none.
  int startGateRead;
  int startGateWrite;
  static constexpr int kStartGateMs = 100;
  std::atomic<uint32_t> go;    // the writer lets the helper start (after PR_SET_PTRACER)
  std::atomic<uint32_t> done;  // the helper has resumed every thread

  unsigned char helperStack[kStackBytes];
  unsigned char childStack[kStackBytes];
};

// The registers a thread's roots are read from: the interrupted ones for the thread in
// the tracer's fatal-signal handler.
inline const user_regs_struct& registersOf(const SnapshotJob& job, const SnapshotJob::Thread& t) {
  return t.tid == job.interruptedTid ? job.interruptedRegs : t.regs;
}

}  // namespace tidemark::preload
