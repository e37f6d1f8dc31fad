// The result of analysing one trace: an immutable value the CLI prints and the viewer
// draws. Built by analyzeTrace() (analyze_trace.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace_format.h"

namespace tidemark::analysis {

enum class LeakKind : uint8_t { Reachable, Possible, Indirect, Definite };

// One source-level frame. An instruction address with inlined calls gives several,
// innermost first, all but the last marked inlined.
struct Frame {
  std::string function;  // demangled; "??" when unknown
  std::string file;      // empty when there is no line information
  int line = 0;
  std::string module;  // path of the ELF object
  bool inlined = false;
  uint64_t address = 0;  // the return address the frame came from
};

// A site's counters at one checkpoint (Analysis::checkpointTimesS). Cumulative, so the
// change between two checkpoints is a subtraction.
struct SitePoint {
  uint32_t checkpoint = 0;
  uint64_t liveBytes = 0;
  uint64_t liveBlocks = 0;
  uint64_t allocatedBytes = 0;  // since the start of the trace
  uint64_t allocations = 0;
};

// Everything allocated from one distinct call stack.
struct Site {
  uint32_t stack = 0;
  uint64_t allocations = 0;
  uint64_t allocatedBytes = 0;
  uint64_t temporaryAllocations = 0;
  uint64_t peakBytes = 0;    // most bytes of this site live at once
  uint64_t leakedBytes = 0;  // not freed at exit
  uint64_t leakedBlocks = 0;
  std::vector<Frame> frames;  // innermost first: the caller of the allocation function
  // The counters at each checkpoint where they changed, in checkpoint order; before the
  // first point everything was zero (site_history.h reads it).
  std::vector<SitePoint> history;
};

struct TimelinePoint {
  uint64_t timeUs = 0;
  uint64_t heapBytes = 0;    // live bytes from the replayed events
  uint64_t rssBytes = 0;     // from the process sample
  uint64_t stackBytes = 0;   // resident stack pages of all threads
  uint64_t allocations = 0;  // allocation calls so far
};

// A label the program put on its timeline with tidemark_mark().
struct TimelineMark {
  double timeS = 0;
  int32_t tid = 0;
  std::string label;
};

struct ThreadSummary {
  int32_t tid = 0;
  std::string name;
  uint64_t stackBytesReserved = 0;
  uint64_t peakStackResidentBytes = 0;
  double firstSeenS = 0;  // first event or description of the thread
  double endS = -1;       // when the thread ended; -1: ran until the trace ended
};

struct Summary {
  int32_t pid = 0;
  int32_t parentPid = 0;
  uint32_t execGeneration = 0;
  std::string executable;
  std::vector<std::string> arguments;
  double durationS = 0;
  uint64_t allocations = 0;
  uint64_t frees = 0;
  uint64_t allocatedBytes = 0;
  uint64_t temporaryAllocations = 0;
  uint64_t peakHeapBytes = 0;
  double peakHeapTimeS = 0;
  uint64_t peakRssBytes = 0;
  double peakRssTimeS = 0;
  uint64_t peakStackBytes = 0;
  uint64_t leakedBytes = 0;
  uint64_t leakedBlocks = 0;
  uint64_t inheritedBytes = 0;  // a forked child's blocks from its parent, at its start
  uint64_t inheritedBlocks = 0;
  uint64_t mappedBytesAtExit = 0;  // the program's own anonymous mappings not unmapped
  uint64_t droppedEvents = 0;
  bool complete = false;   // the trace has its trailer, and the program's end
  std::string exitReason;  // "exit", "_exit", "abort", "exec", a signalName() or "unknown"
  bool truncated = false;  // the file ends inside a chunk
  // Who wrote the trailer: "tracer", or "record" for a process that ended unseen by the
  // tracer (SIGKILL; tidemark record saw it end, and what the tracer had not written yet
  // is lost); empty without a trailer.
  std::string endWrittenBy;
  // Why tracing stopped while the program ran on: the error of the trace's write that
  // failed ("No space left on device"); empty when it did not.
  std::string tracingStopped;
  // Where the file stopped being readable, and why ("corrupt trace: chunk does not
  // decompress (...)"): the analysis is of what came before. Empty when it did not.
  std::string corruption;
  uint64_t corruptAtByte = 0;
  uint64_t fileBytes = 0;

  // Nothing more of the trace will come, however long it is followed: it has the program's
  // end, tracing stopped, or reading stopped at damage.
  bool over() const { return complete || !tracingStopped.empty() || !corruption.empty(); }
};

// Lost (or possibly lost) blocks of one kind from one allocation stack, in a snapshot.
struct LeakGroup {
  LeakKind kind = LeakKind::Definite;
  uint32_t stack = 0;
  uint64_t bytes = 0;
  uint64_t blocks = 0;
  double firstSeenS = 0;  // the first snapshot in which one of them was lost
  // The first complete snapshot that had this group (kind, stack, retainer) and its bytes
  // then: a leak of every request grows from there, one of the start-up does not.
  double firstGroupS = 0;
  uint64_t firstGroupBytes = 0;
  uint32_t retainedByStack = 0;  // indirect: the stack of the definite block holding them
  uint64_t indirectBytes = 0;    // definite: bytes of indirect blocks it holds
  std::vector<Frame> frames;
};

// One heap-graph snapshot: bytes and blocks per leak class, indexed by LeakKind
// (reachable, possible, indirect, definite).
// Memory of the program's the snapshot's scan could not read, and read as zeros (a file
// mapping's pages beyond the file's end, a guard region).
struct UnreadableMemory {
  uint64_t address = 0;
  uint64_t bytes = 0;
  std::string signal;   // a signalName() of the fault
  std::string mapping;  // its line in /proc/PID/maps
};

struct SnapshotSummary {
  uint32_t id = 0;
  double timeS = 0;
  double pauseMs = 0;
  double scanMs = 0;
  std::string trigger;
  bool complete = true;
  bool allocatorMappingsLost = false;  // some allocator memory was scanned as roots
  bool guarded = false;                // the heap was guarded, not copied (heap_guard.h)
  // Why it is incomplete: the SnapshotBegin's and SnapshotEnd's flags (threads not
  // stopped, format::kSnapshotThreads*, and how many: their stacks and registers were no
  // roots; memory the scan could not read, kSnapshotBlocksUnreadable, ...GuardLostMemory).
  uint32_t incompleteFlags = 0;
  uint32_t threadsNotStopped = 0;
  uint64_t bytes[4] = {};
  uint64_t blocks[4] = {};
  // Of the reachable ones, those only a heuristic's pointer makes reachable, by
  // format::PointerKind (StdString, Length64, NewArray, MultipleInheritance).
  uint64_t heuristicBytes[format::kPointerKinds] = {};
  uint64_t heuristicBlocks[format::kPointerKinds] = {};
  // Its lost and possibly lost blocks by kind and stack, largest first, without frames
  // (the Site of the same stack has them).
  std::vector<LeakGroup> groups;
  std::vector<UnreadableMemory> unreadable;
};

// A snapshot that was asked for but has no result, and why, in words ("its scanning
// process was killed by SIGKILL").
struct FailedSnapshot {
  uint32_t id = 0;
  double timeS = 0;
  std::string trigger;
  std::string reason;
};

struct Analysis {
  std::string path;
  Summary summary;
  std::vector<Site> sites;  // sorted by leaked bytes, then peak bytes, descending
  std::vector<TimelinePoint> timeline;
  // When the site histories were recorded: process samples (every one, or every 2nd, 4th,
  // ... once the histories outgrow their memory budget) and the end of the trace.
  std::vector<double> checkpointTimesS;
  std::vector<ThreadSummary> threads;
  std::vector<SnapshotSummary> snapshots;
  std::vector<FailedSnapshot> failedSnapshots;  // in the order they were asked for
  std::vector<TimelineMark> marks;
  // The reported snapshot's groups, with frames: definite first, then indirect, possible.
  std::vector<LeakGroup> leaks;
  std::vector<std::string> warnings;  // e.g. a module whose file changed since the trace

  // The snapshot the leak report is about: the last complete one, else the last one;
  // nullptr without snapshots.
  const SnapshotSummary* reportedSnapshot() const {
    const SnapshotSummary* chosen = snapshots.empty() ? nullptr : &snapshots.back();
    for (const auto& s : snapshots) {
      if (s.complete) chosen = &s;
    }
    return chosen;
  }
};

// "SIGTERM" for 15; "signal N" for a signal without a name.
std::string signalName(int signal);

// Why a snapshot is incomplete, in words ("1 thread not stopped (ptrace refused: ...)"),
// and as JSON's names ("ptrace_refused", "stop_timed_out", "too_many_threads",
// "registers_unread", "blocks_unreadable", "guard_lost_memory", "unknown"); empty for a
// complete snapshot.
std::string incompleteText(const SnapshotSummary& snapshot);
std::vector<std::string> incompleteReasonNames(const SnapshotSummary& snapshot);

}  // namespace tidemark::analysis
