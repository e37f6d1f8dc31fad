// What the hooks call: each function records one event of the calling thread, with its
// stack where the event has one. All of them return at once when tracing is off or the
// thread is already inside the tracer, never allocate and never take a lock.
#pragma once

#include <cstddef>

#include "../format/trace_format.h"
#include "signal_deferral.h"

namespace tidemark::preload {

void recordAlloc(format::AllocFunction function, const void* block, size_t size);
// True when the block was in the live-block tables (with snapshots): allocated through
// the tracer and not freed since, a block of the allocator's for certain.
bool recordFree(format::AllocFunction function, const void* block);
void recordRealloc(const void* oldBlock, const void* newBlock, size_t size);
void recordMmap(const void* address, size_t length);
void recordMunmap(const void* address, size_t length);
// A label on the timeline (tidemark_mark()).
void recordMark(const char* label);

// Runs `f` with the calling thread marked as inside the tracer, where a fatal signal waits
// (signal_deferral.h).
class TracerScope {
 public:
  TracerScope();
  ~TracerScope();
  TracerScope(const TracerScope&) = delete;
  TracerScope& operator=(const TracerScope&) = delete;

 private:
  bool wasInside_;
  SignalDeferral deferral_;
};

// Creates the key whose destructor tells the tracer that a thread ended. Call at init.
void initThreadExitKey();

struct Ring;
// The calling thread's ring, or nullptr before its first event.
Ring* currentRing();

// The calling thread's ring is ending (thread exit) or must be re-attached (fork child).
void detachThread();
void reattachThreadAfterFork();

}  // namespace tidemark::preload
