// What the hooks call: each function records one event of the calling thread, with its
// stack where the event has one. All of them return at once when tracing is off or the
// thread is already inside the tracer, never allocate and never take a lock.
#pragma once

#include <cstddef>

#include "../format/trace_format.h"
#include "live_blocks.h"
#include "signal_deferral.h"

namespace tidemark::preload {

void recordAlloc(format::AllocFunction function, const void* block, size_t size);
// True when the block was in the live-block tables (with snapshots): allocated through
// the tracer and not freed since, a block of the allocator's for certain.
bool recordFree(format::AllocFunction function, const void* block);

// realloc's old block leaves the live-block tables before the call: the allocator may
// hand its address to another thread before realloc returns, and an erase after the call
// would then take that thread's new block. Until one of the three calls after it, the
// calling thread's ring keeps the block for a snapshot (Ring::reallocating).
enum class HeldBy : uint8_t { None, ThisRing, OtherRing };  // whose table held a block
struct ReallocSource {
  HeldBy held = HeldBy::None;
  LiveBlock block{};
};
ReallocSource takeReallocSource(const void* oldBlock);
// realloc moved or resized the block.
void recordRealloc(const void* oldBlock, const void* newBlock, size_t size,
                   const ReallocSource& source);
// realloc(p, 0) freed it (glibc returns NULL).
void recordReallocFree(const void* oldBlock, const ReallocSource& source);
// realloc failed: the block stays live.
void restoreReallocSource(const ReallocSource& source);
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
