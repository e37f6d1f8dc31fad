// Encoding of hook events into the calling thread's ring (packed format: trace_format.h).
#include "recorder.h"

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "live_blocks.h"
#include "ring.h"
#include "stack_capture.h"
#include "stack_table.h"
#include "tracer.h"

namespace tidemark::preload {

namespace {

// initial-exec: these are read inside malloc, where the general-dynamic model could call
// __tls_get_addr, which allocates on first use and would recurse into the hook.
thread_local bool tInsideTracer __attribute__((tls_model("initial-exec"))) = false;
thread_local Ring* tRing __attribute__((tls_model("initial-exec"))) = nullptr;
// How many times the thread-exit destructor has re-armed itself (see onThreadExit).
thread_local unsigned tExitRounds __attribute__((tls_model("initial-exec"))) = 0;

pthread_key_t exitKey;
bool exitKeyReady = false;

uint64_t nowUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  uint64_t ns = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + ts.tv_nsec;
  uint64_t start = traceStartMonotonicNs();
  return ns > start ? (ns - start) / 1000 : 0;
}

// Keys run their destructors once per round while a value is set; glibc runs up to four
// rounds. Staying attached for the first rounds lets frees made by other keys'
// destructors still be recorded on this ring.
void onThreadExit(void* value) {
  if (++tExitRounds < 3) {
    pthread_setspecific(exitKey, value);
    return;
  }
  detachThread();
}

// Binds the ring to the calling thread; the decoder resets its state at this op.
void bindRing(Ring* ring) {
  int local = 0;
  int32_t tid = static_cast<int32_t>(syscall(SYS_gettid));
  ring->stackProbe = reinterpret_cast<uintptr_t>(&local);
  // Published last: the writer takes a ring whose tid is 0 for one not bound yet (its
  // stack probe unset, and the tid of its last thread, long gone, no longer there).
  ring->tid.store(tid, std::memory_order_release);
  prctl(PR_GET_NAME, ring->ownerName);
  for (auto& recent : ring->recent) recent.id = 0;  // the stack table may have been reset
  uint8_t bytes[16];
  ringWrite(ring, bytes, ring->packer.threadAttach(bytes, tid) - bytes);
}

Ring* attachThread() {
  Ring* ring = rings.acquire();
  if (!ring) return nullptr;
  bindRing(ring);
  tRing = ring;
  if (exitKeyReady) pthread_setspecific(exitKey, ring);
  return ring;
}

// Captures and interns the stack; writes its definition first when it is new.
uint32_t currentStack(Ring* ring) {
  uintptr_t ips[kMaxFrames];
  uint32_t depth = captureStack(ips, ring->unwind);
  for (const auto& recent : ring->recent) {
    if (recent.id != 0 && recent.depth == depth && recent.ips[0] == ips[0] &&
        memcmp(ips, recent.ips, depth * sizeof(uintptr_t)) == 0) {
      return recent.id;
    }
  }
  bool isNew = false;
  uint32_t id = stackTable().intern(ips, depth, &isNew);
  auto& slot = ring->recent[ring->recentNext++ % Ring::kRecentStacks];
  slot.id = id;
  slot.depth = depth;
  memcpy(slot.ips, ips, depth * sizeof(uintptr_t));
  if (!isNew) return id;
  uint8_t bytes[format::PackedWriter::maxStackBytes(kMaxFrames)];
  ringWrite(ring, bytes, format::PackedWriter::stack(bytes, id, ips, depth) - bytes);
  return id;
}

// Marks the ring's live-block table as changing: a snapshot never stops this thread
// half way through.
class TableChange {
 public:
  explicit TableChange(Ring* ring) : ring_(ring) {
    ring_->busy.store(1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  ~TableChange() {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    ring_->busy.store(0, std::memory_order_release);
  }
  TableChange(const TableChange&) = delete;
  TableChange& operator=(const TableChange&) = delete;

 private:
  Ring* ring_;
};

// Takes `address` out of the live-block tables (inside a TableChange); which table held
// it, and *erased its entry.
HeldBy eraseLive(Ring* ring, uintptr_t address, LiveBlock* erased) {
  if (ring->blocks.erase(address, erased)) return HeldBy::ThisRing;
  if (rings.eraseRemote(address, ring, erased)) return HeldBy::OtherRing;
  return HeldBy::None;
}

void insertLive(Ring* ring, uintptr_t address, size_t size, uint32_t stack) {
  ring->blocks.insert(
      LiveBlock{address, size, stack, static_cast<uint32_t>(ring->packer.lastTimeUs() / 1000)});
}

// The old block's end, as a free's: whose block it was.
uint8_t* packFree(Ring* ring, uint8_t* out, format::AllocFunction function, uintptr_t address,
                  HeldBy held, const LiveBlock& freed) {
  // Which allocation this free ends, for a reader that gets the rings' events out of
  // their order (trace_format.h: kOwnBlock).
  if (held == HeldBy::OtherRing) {
    return ring->packer.freeOther(out, function, address, freed.size, freed.stack);
  }
  return ring->packer.free(out, function, address, held == HeldBy::ThisRing);
}

// The common frame of every record function: checks, guard, ring.
template <typename Encode>
void record(Encode&& encode) {
  if (!recording() || tInsideTracer) return;
  TracerScope scope;
  Ring* ring = tRing ? tRing : attachThread();
  if (!ring) {
    countDroppedEvent();
    return;
  }
  uint8_t bytes[2 * format::kMaxPackedEventBytes + 16];
  // A new stack's definition, written to the ring inside encode(), lands before this
  // buffer (time op and event), so the decoder always knows an id before its use.
  uint8_t* end = encode(ring, ring->packer.time(bytes, nowUs()));
  // A write fails only once the trace has ended (its ring stayed full meanwhile): the event
  // comes after the trace's last, like any the hooks no longer record, and is no loss.
  if (ringWrite(ring, bytes, end - bytes)) {
    // Only this thread writes the counter; a plain increment avoids a locked RMW.
    ring->events.store(ring->events.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
}

}  // namespace

TracerScope::TracerScope() : wasInside_(tInsideTracer) { tInsideTracer = true; }
TracerScope::~TracerScope() { tInsideTracer = wasInside_; }

void initThreadExitKey() { exitKeyReady = pthread_key_create(&exitKey, onThreadExit) == 0; }

void recordAlloc(format::AllocFunction function, const void* block, size_t size) {
  record([&](Ring* ring, uint8_t* out) {
    uint32_t stack = currentStack(ring);
    if (snapshotsEnabled()) {
      TableChange change(ring);
      insertLive(ring, reinterpret_cast<uintptr_t>(block), size, stack);
    }
    return ring->packer.alloc(out, function, reinterpret_cast<uintptr_t>(block), size, stack);
  });
}

bool recordFree(format::AllocFunction function, const void* block) {
  // The slot's cache miss overlaps the checks and the recent blocks' scan before it.
  if (Ring* ring = tRing; ring && snapshotsEnabled()) {
    ring->blocks.prefetch(reinterpret_cast<uintptr_t>(block));
  }
  bool wasLive = false;
  record([&](Ring* ring, uint8_t* out) {
    auto address = reinterpret_cast<uintptr_t>(block);
    LiveBlock freed;
    HeldBy held = HeldBy::None;
    if (snapshotsEnabled()) {
      TableChange change(ring);
      held = eraseLive(ring, address, &freed);
    }
    wasLive = held != HeldBy::None;
    return packFree(ring, out, function, address, held, freed);
  });
  return wasLive;
}

ReallocSource takeReallocSource(const void* oldBlock) {
  ReallocSource source;
  if (!recording() || tInsideTracer || !snapshotsEnabled()) return source;
  TracerScope scope;
  Ring* ring = tRing ? tRing : attachThread();
  if (!ring) return source;
  TableChange change(ring);
  source.held = eraseLive(ring, reinterpret_cast<uintptr_t>(oldBlock), &source.block);
  if (source.held != HeldBy::None) ring->reallocating = source.block;
  return source;
}

void recordRealloc(const void* oldBlock, const void* newBlock, size_t size,
                   const ReallocSource& source) {
  record([&](Ring* ring, uint8_t* out) {
    uint32_t stack = currentStack(ring);
    auto from = reinterpret_cast<uintptr_t>(oldBlock);
    auto to = reinterpret_cast<uintptr_t>(newBlock);
    if (snapshotsEnabled()) {
      TableChange change(ring);
      ring->reallocating.address = 0;
      insertLive(ring, to, size, stack);
    }
    if (source.held == HeldBy::OtherRing) {
      out = packFree(ring, out, format::AllocFunction::Malloc, from, source.held, source.block);
      return ring->packer.realloc(out, 0, to, size, stack, false);
    }
    return ring->packer.realloc(out, from, to, size, stack, source.held == HeldBy::ThisRing);
  });
}

void recordReallocFree(const void* oldBlock, const ReallocSource& source) {
  record([&](Ring* ring, uint8_t* out) {
    if (snapshotsEnabled()) {
      TableChange change(ring);
      ring->reallocating.address = 0;
    }
    return packFree(ring, out, format::AllocFunction::Malloc, reinterpret_cast<uintptr_t>(oldBlock),
                    source.held, source.block);
  });
}

void restoreReallocSource(const ReallocSource& source) {
  Ring* ring = tRing;
  if (source.held == HeldBy::None || !ring || tInsideTracer) return;
  TracerScope scope;
  TableChange change(ring);
  ring->reallocating.address = 0;
  ring->blocks.insert(source.block);  // still live, now in this thread's table
}

void recordMmap(const void* address, size_t length) {
  record([&](Ring* ring, uint8_t* out) {
    uint32_t stack = currentStack(ring);
    return ring->packer.mmap(out, reinterpret_cast<uintptr_t>(address), length, stack);
  });
}

void recordMunmap(const void* address, size_t length) {
  record([&](Ring* ring, uint8_t* out) {
    return ring->packer.munmap(out, reinterpret_cast<uintptr_t>(address), length);
  });
}

void recordMark(const char* label) {
  if (!label || !recording() || tInsideTracer) return;
  TracerScope scope;
  Ring* ring = tRing ? tRing : attachThread();
  if (!ring) return;
  uint8_t bytes[16 + 2 + format::kMaxMarkBytes];
  uint8_t* end = format::PackedWriter::mark(ring->packer.time(bytes, nowUs()), label);
  ringWrite(ring, bytes, end - bytes);
}

void detachThread() {
  Ring* ring = tRing;
  if (!ring) return;
  TracerScope scope;
  prctl(PR_GET_NAME, ring->ownerName);  // the writer describes the thread after it is gone
  uint8_t bytes[4];
  ringWrite(ring, bytes, ring->packer.threadDetach(bytes) - bytes);
  tRing = nullptr;
  ring->state.store(RingState::Exited, std::memory_order_release);
}

void reattachThreadAfterFork() {
  Ring* ring = tRing;
  if (!ring) return;
  TracerScope scope;
  bindRing(ring);
}

Ring* currentRing() { return tRing; }

}  // namespace tidemark::preload
