// The writer thread: the single consumer of every ring and the only code that writes the
// trace file. It also writes what the hooks cannot: the module map, thread names and stack
// ranges, and periodic process samples.
#pragma once

#include <cstdint>

#include "../format/trace_format.h"

namespace tidemark::preload {

// Opens a new trace file and starts the writer thread. Returns false on failure (then
// nothing runs and tracing must stay off). With inheritedHeap (in a forked child, while
// it has one thread), the trace starts with the stacks and live blocks it inherited.
bool startWriter(uint32_t execGeneration, bool inheritedHeap);

// Cheap when the writer is awake: only a sleeping writer costs a futex call.
void wakeWriter();

// The module map changed (dlopen/dlclose); the writer rereads it soon.
void requestModuleRescan();

// Returns once the writer has reread the module map (at most ~1 s): before dlclose, so
// that an object opened and closed between two rescans is still in the trace.
void syncModuleMap();

// Asks for a snapshot soon (async-signal-safe: an atomic store and a futex wake).
void requestSnapshot(format::SnapshotTrigger trigger);

// Before an exec: the trace is written up to now and ends with a trailer that says exec,
// and the writer then holds it there (returns once that is so, or when the writer has
// made no progress for a few seconds, as stopWriter does). If the
// exec fails, releaseWriterAfterExec lets the writer go on; the reader takes a trailer
// followed by more records for a failed exec.
void holdWriterForExec();
void releaseWriterAfterExec();

// Drains everything, writes the trailer, closes the file, and returns when that is done
// (or once the writer made no progress for a few seconds: stuck on a dead disk, or no
// longer running). An exit snapshot of a big heap takes as long as it takes.
void stopWriter(format::ExitReason reason);

// The writer thread moved on (a record of a snapshot copied): for stopWriter's patience.
void noteWriterProgress();

// In a forked child: the writer thread did not survive the fork; forget its state.
void abandonWriterAfterFork();

}  // namespace tidemark::preload
