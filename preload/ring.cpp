// Ring registry and the owner's append path.
#include "ring.h"

#include <sched.h>

#include <cstring>
#include <new>

#include "raw_memory.h"
#include "tracer.h"
#include "writer.h"

namespace tidemark::preload {

constinit RingRegistry rings;

bool RingRegistry::init() {
  rings_ = static_cast<std::atomic<Ring*>*>(mapPages(kMaxRings * sizeof(std::atomic<Ring*>)));
  return rings_ != nullptr;
}

Ring* RingRegistry::acquire() {
  if (!rings_) return nullptr;
  uint32_t n = count();
  for (uint32_t i = 0; i < n; ++i) {
    Ring* ring = at(i);
    RingState expected = RingState::Free;
    if (ring && ring->state.compare_exchange_strong(expected, RingState::Owned)) return ring;
  }
  // Rule scratch lies before the ring data: learning may read far above the scratch.
  constexpr size_t kMapBytes = sizeof(Ring) + kRuleScratchBytes + Ring::kBytes;
  void* memory = mapPages(kMapBytes);
  if (!memory) return nullptr;
  uint32_t index = count_.fetch_add(1, std::memory_order_acq_rel);
  if (index >= kMaxRings) {
    count_.fetch_sub(1, std::memory_order_acq_rel);
    unmapPages(memory, kMapBytes);
    return nullptr;
  }
  auto* ring = new (memory) Ring;
  auto* bytes = static_cast<uint8_t*>(memory);
  ring->unwind.ruleScratch = reinterpret_cast<uintptr_t*>(bytes + sizeof(Ring));
  ring->data = bytes + sizeof(Ring) + kRuleScratchBytes;
  ring->index = index;
  ring->state.store(RingState::Owned, std::memory_order_relaxed);
  rings_[index].store(ring, std::memory_order_release);
  return ring;
}

void RingRegistry::resetAfterFork(Ring* keep) {
  uint32_t n = count();
  for (uint32_t i = 0; i < n; ++i) {
    Ring* ring = at(i);
    if (!ring) continue;
    ring->head.store(0, std::memory_order_relaxed);
    ring->tail.store(0, std::memory_order_relaxed);
    ring->drained = 0;
    ring->events.store(0, std::memory_order_relaxed);
    ring->describedTid = 0;
    ring->tid.store(0, std::memory_order_relaxed);  // the kept one is bound again
    ring->stackLow = ring->stackHigh = 0;
    ring->describedName[0] = '\0';
    // The live-block tables stay: the child has the parent's blocks, and the stack table
    // with their ids stays too (the child's trace starts by defining both).
    ring->blocks.afterFork();
    // A thread that was inside realloc is gone: the child has its block as it was.
    if (ring->reallocating.address) ring->blocks.insert(ring->reallocating);
    ring->reallocating.address = 0;
    if (ring != keep) ring->state.store(RingState::Free, std::memory_order_release);
  }
}

bool RingRegistry::eraseRemote(uint64_t address, Ring* own, LiveBlock* erased) {
  // A thread that frees others' blocks mostly frees one other's (a pool's jobs, a loop's
  // requests): the search starts at the table that held the last one. Each table it
  // passes costs a lock taken on a line other cores use.
  uint32_t n = count();
  uint32_t i = own->lastRemoteRing < n ? own->lastRemoteRing : 0;
  for (uint32_t searched = 0; searched < n; ++searched, i = i + 1 < n ? i + 1 : 0) {
    Ring* ring = at(i);
    if (ring && ring != own && ring->blocks.erase(address, erased)) {
      own->lastRemoteRing = i;
      return true;
    }
  }
  return false;
}

bool RingRegistry::anyOwned() const {
  uint32_t n = count();
  for (uint32_t i = 0; i < n; ++i) {
    Ring* ring = at(i);
    if (ring && ring->state.load(std::memory_order_acquire) == RingState::Owned) return true;
  }
  return false;
}

uint64_t RingRegistry::liveBlockCount() const {
  uint64_t total = 0;
  uint32_t n = count();
  for (uint32_t i = 0; i < n; ++i) {
    if (Ring* ring = at(i)) total += ring->blocks.count() + (ring->reallocating.address != 0);
  }
  return total;
}

bool ringWrite(Ring* ring, const uint8_t* bytes, size_t n) {
  uint64_t head = ring->head.load(std::memory_order_relaxed);
  while (Ring::kBytes - (head - ring->tail.load(std::memory_order_acquire)) < n) {
    if (!recording()) return false;
    wakeWriter();
    sched_yield();
  }
  size_t at = head % Ring::kBytes;
  size_t first = n < Ring::kBytes - at ? n : Ring::kBytes - at;
  memcpy(ring->data + at, bytes, first);
  memcpy(ring->data, bytes + first, n - first);
  ring->head.store(head + n, std::memory_order_release);
  if (Ring::kBytes - (head + n - ring->tail.load(std::memory_order_relaxed)) < Ring::kBytes / 2) {
    wakeWriter();  // half full: drain early rather than make this thread wait later
  }
  return true;
}

}  // namespace tidemark::preload
