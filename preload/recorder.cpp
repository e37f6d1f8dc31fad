// Encoding of hook events into the calling thread's ring (packed format: trace_format.h).
#include "recorder.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../format/varint.h"
#include "ring.h"
#include "stack_capture.h"
#include "stack_table.h"
#include "tracer.h"

namespace tidemark::preload {

using format::PackedOp;
using format::putVarint;
using format::zigzag;

namespace {

// initial-exec: these are read inside malloc, where the general-dynamic model could call
// __tls_get_addr, which allocates on first use and would recurse into the hook.
thread_local bool tInsideTracer __attribute__((tls_model("initial-exec"))) = false;
thread_local Ring* tRing __attribute__((tls_model("initial-exec"))) = nullptr;
// How many times the thread-exit destructor has re-armed itself (see onThreadExit).
thread_local unsigned tExitRounds __attribute__((tls_model("initial-exec"))) = 0;

pthread_key_t exitKey;
bool exitKeyReady = false;

uint8_t opcode(PackedOp op, unsigned detail = 0) {
  return static_cast<uint8_t>(static_cast<unsigned>(op) | (detail << 4));
}

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

void writeHeaderOps(Ring* ring, int32_t tid) {
  uint8_t bytes[16];
  uint8_t* p = bytes;
  *p++ = opcode(PackedOp::ThreadAttach);
  p = putVarint(p, static_cast<uint32_t>(tid));
  ringWrite(ring, bytes, p - bytes);
}

Ring* attachThread() {
  Ring* ring = rings.acquire();
  if (!ring) return nullptr;
  int local = 0;
  int32_t tid = static_cast<int32_t>(syscall(SYS_gettid));
  ring->tid.store(tid, std::memory_order_relaxed);
  ring->stackProbe = reinterpret_cast<uintptr_t>(&local);
  ring->lastAddress = 0;
  ring->lastTimeUs = UINT64_MAX;
  writeHeaderOps(ring, tid);
  tRing = ring;
  if (exitKeyReady) pthread_setspecific(exitKey, ring);
  return ring;
}

// Starts an event in `out`: the time op when the clock moved, then the opcode.
uint8_t* beginEvent(Ring* ring, uint8_t* out, uint8_t code) {
  uint64_t now = nowUs();
  if (now != ring->lastTimeUs) {
    ring->lastTimeUs = now;
    *out++ = opcode(PackedOp::Time);
    out = putVarint(out, now);
  }
  *out++ = code;
  return out;
}

uint8_t* putAddress(Ring* ring, uint8_t* out, uintptr_t address) {
  out = putVarint(out, zigzag(static_cast<int64_t>(address - ring->lastAddress)));
  ring->lastAddress = address;
  return out;
}

// Captures and interns the stack; writes its definition first when it is new.
uint32_t currentStack(Ring* ring) {
  uintptr_t ips[kMaxFrames];
  uint32_t depth = captureStack(ips);
  bool isNew = false;
  uint32_t id = stackTable().intern(ips, depth, &isNew);
  if (!isNew) return id;
  uint8_t bytes[1 + 2 * 10 + kMaxFrames * 10];
  uint8_t* p = bytes;
  *p++ = opcode(PackedOp::Stack);
  p = putVarint(p, id);
  p = putVarint(p, depth);
  uintptr_t previous = 0;
  for (uint32_t i = 0; i < depth; ++i) {
    p = putVarint(p, zigzag(static_cast<int64_t>(ips[i] - previous)));
    previous = ips[i];
  }
  ringWrite(ring, bytes, p - bytes);
  return id;
}

// The common frame of every record function: checks, guard, ring.
template <typename Encode>
void record(Encode&& encode) {
  if (!tracing() || tInsideTracer) return;
  TracerScope scope;
  Ring* ring = tRing ? tRing : attachThread();
  if (!ring) {
    countDroppedEvent();
    return;
  }
  uint8_t bytes[format::kMaxPackedEventBytes + 16];
  uint8_t* end = encode(ring, bytes);
  if (ringWrite(ring, bytes, end - bytes)) {
    ring->events.fetch_add(1, std::memory_order_relaxed);
  } else {
    countDroppedEvent();
  }
}

}  // namespace

TracerScope::TracerScope() : wasInside_(tInsideTracer) { tInsideTracer = true; }
TracerScope::~TracerScope() { tInsideTracer = wasInside_; }

bool insideTracer() { return tInsideTracer; }

void initThreadExitKey() {
  exitKeyReady = pthread_key_create(&exitKey, onThreadExit) == 0;
}

void recordAlloc(format::AllocFunction function, const void* block, size_t size) {
  record([&](Ring* ring, uint8_t* out) {
    uint32_t stack = currentStack(ring);
    out = beginEvent(ring, out, opcode(PackedOp::Alloc, static_cast<unsigned>(function)));
    out = putVarint(out, size);
    out = putVarint(out, stack);
    return putAddress(ring, out, reinterpret_cast<uintptr_t>(block));
  });
}

void recordFree(format::AllocFunction function, const void* block) {
  record([&](Ring* ring, uint8_t* out) {
    out = beginEvent(ring, out, opcode(PackedOp::Free, static_cast<unsigned>(function)));
    return putAddress(ring, out, reinterpret_cast<uintptr_t>(block));
  });
}

void recordRealloc(const void* oldBlock, const void* newBlock, size_t size) {
  record([&](Ring* ring, uint8_t* out) {
    uint32_t stack = currentStack(ring);
    out = beginEvent(ring, out, opcode(PackedOp::Realloc));
    out = putVarint(out, size);
    out = putVarint(out, stack);
    out = putAddress(ring, out, reinterpret_cast<uintptr_t>(oldBlock));
    return putAddress(ring, out, reinterpret_cast<uintptr_t>(newBlock));
  });
}

void recordMmap(const void* address, size_t length) {
  record([&](Ring* ring, uint8_t* out) {
    uint32_t stack = currentStack(ring);
    out = beginEvent(ring, out, opcode(PackedOp::Mmap));
    out = putAddress(ring, out, reinterpret_cast<uintptr_t>(address));
    out = putVarint(out, length);
    return putVarint(out, stack);
  });
}

void recordMunmap(const void* address, size_t length) {
  record([&](Ring* ring, uint8_t* out) {
    out = beginEvent(ring, out, opcode(PackedOp::Munmap));
    out = putAddress(ring, out, reinterpret_cast<uintptr_t>(address));
    return putVarint(out, length);
  });
}

void detachThread() {
  Ring* ring = tRing;
  if (!ring) return;
  TracerScope scope;
  uint8_t op = opcode(PackedOp::ThreadDetach);
  ringWrite(ring, &op, 1);
  tRing = nullptr;
  ring->state.store(RingState::Exited, std::memory_order_release);
}

void reattachThreadAfterFork() {
  Ring* ring = tRing;
  if (!ring) return;
  TracerScope scope;
  int local = 0;
  int32_t tid = static_cast<int32_t>(syscall(SYS_gettid));
  ring->tid.store(tid, std::memory_order_relaxed);
  ring->stackProbe = reinterpret_cast<uintptr_t>(&local);
  ring->lastAddress = 0;
  ring->lastTimeUs = UINT64_MAX;
  writeHeaderOps(ring, tid);
}

Ring* currentRing() { return tRing; }

}  // namespace tidemark::preload
