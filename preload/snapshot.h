// Heap-graph snapshots, driven from the writer thread: prepare, let the helper stop the
// program and make the copy, then move the scanning child's records into the trace.
#pragma once

#include <ucontext.h>

#include <cstdint>

#include "../format/chunk_encoder.h"
#include "../format/trace_format.h"

namespace tidemark::preload {

// Maps the memory snapshots share. Call once at tracer start.
bool initSnapshots();

// Takes one snapshot and appends its records to `encoder`; false when none could be
// taken (then nothing was appended). Writer thread only.
// `deadStacks`: the stack mappings of threads that ended.
struct StackRange {
  uint64_t low;
  uint64_t high;
};
bool takeSnapshot(format::SnapshotTrigger trigger, uint64_t nowUs, format::ChunkEncoder& encoder,
                  const StackRange* deadStacks, uint32_t deadStackCount);

// The calling thread is in the tracer's handler of a fatal signal, which interrupted it
// at `context`: the exit snapshot reads its roots from there (see fatal_signals.h).
void noteInterruptedThread(const ucontext_t& context);

// The calling thread ends the trace (exit, _exit, abort, exec) and will wait inside the
// tracer for the exit snapshot: the snapshot reads its roots from the program's frame that
// called into the tracer (stack_capture.h), not from the tracer's frames below it, which
// hold stale words of the program's dead frames (a lost block's address, say).
void noteCallerOfTracer();

// In a child the program forked while its parent took a snapshot: lets go of the
// parent's heap guard, whose userfaultfd would otherwise live on in this process.
void abandonSnapshotAfterFork();

}  // namespace tidemark::preload
