// The tracer's lifecycle: Uninitialized → Initializing → Enabled → Stopping → Disabled.
// One atomic holds it. Hooks record while it is Enabled, and while Stopping until the
// exit snapshot has stopped the program (recording()).
#pragma once

#include <cstdint>

#include "../format/trace_format.h"
#include "options.h"

namespace tidemark::preload {

class StackTable;

enum class Lifecycle : uint32_t { Uninitialized, Initializing, Enabled, Stopping, Disabled };

// The trace is on and not ending.
bool tracing();
// Hooks record events and keep the live-block tables: the trace is on, or ending and its
// exit snapshot not taken yet. The program's other threads run on while the trace ends
// (a pool while main calls exit, every thread but the one a signal ends the process
// from); a block one of them frees unrecorded stays in its live table, and the exit
// snapshot, finding nothing that points at it, calls it lost.
bool recording();
// This is the process the tracer was set up in (not a vfork child sharing its memory).
bool isTracedProcess();

// Called from the library constructor with the program's arguments and environment. The
// library is linked with -z initfirst, so this runs before the constructors of every other
// library, libc's included: the blocks those allocate are traced (a registry made in a
// library's constructor keeps what is added to it later). libc's constructor sets
// `environ` and `program_invocation_name` from the same arguments; this sets them first,
// as libc will, so that the tracer and whatever it calls (a preloaded allocator reading
// MALLOC_CONF, say) find them. Resolves real functions, maps tracer memory, opens the
// trace and starts the writer thread. On any failure tracing stays off.
void startTracer(char** argv, char** envp);

// Ends the trace: the writer drains every ring, writes the trailer and closes the file.
// Safe to call more than once and from any thread; only the first call does the work.
void finishTracer(format::ExitReason reason);

// Around an exec: the trace is on disk, ending in a trailer that says exec, before the
// exec; should it fail (the file missing, not executable), tracing goes on as before.
// checkpointBeforeExec() says whether it held the writer; each hold is released once.
bool checkpointBeforeExec();
void afterExecFailed();

// Once the exit snapshot has stopped the program (or none is to be taken): hooks stop
// recording.
void stopRecording();

// The trace cannot be written any more (disk full, I/O error): recording stops for good,
// the target runs on. Called by the writer thread.
void disableAfterWriteFailure();

const Options& options();
uint64_t traceStartMonotonicNs();
StackTable& stackTable();
// Snapshots need the live-block tables; without snapshots hooks skip that work.
bool snapshotsEnabled();
// Freed blocks are zeroed (hooks.cpp): with snapshots, unless TIDEMARK_CLEAR_FREED=0, and
// only when malloc_usable_size is the allocator's own.
bool clearingFreedBlocks();
void countDroppedEvent();
uint64_t droppedEvents();

}  // namespace tidemark::preload
