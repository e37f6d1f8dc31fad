// The allocator mapping table (see allocator_mappings.h).
#include "allocator_mappings.h"

#include <atomic>

#include "../format/trace_format.h"

namespace tidemark::preload {

namespace {

// initial-exec: read inside malloc (see recorder.cpp).
thread_local unsigned tAllocatorDepth __attribute__((tls_model("initial-exec"))) = 0;

// An entry is free while begin is 0. An entry caught half-written by a snapshot has an
// end of 0 (or stale): at worst one allocator range is scanned as a root once.
struct Entry {
  std::atomic<uint64_t> begin{0};
  std::atomic<uint64_t> end{0};
};
// Allocators map big pieces: thousands at most.
constexpr size_t kEntries = format::kAllocatorMappingSlots;
constinit Entry entries[kEntries];
std::atomic<size_t> used{0};  // entries at or past this index were never taken
std::atomic<bool> lost{false};

bool add(uint64_t begin, uint64_t end) {
  for (size_t i = 0; i < kEntries; ++i) {
    uint64_t expected = 0;
    if (entries[i].begin.load(std::memory_order_relaxed) == 0 &&
        entries[i].begin.compare_exchange_strong(expected, begin, std::memory_order_acq_rel)) {
      entries[i].end.store(end, std::memory_order_release);
      size_t seen = used.load(std::memory_order_relaxed);
      while (seen < i + 1 && !used.compare_exchange_weak(seen, i + 1)) {
      }
      return true;
    }
  }
  lost.store(true, std::memory_order_relaxed);
  return false;  // full: the range stays a root, as before this table existed
}

}  // namespace

AllocatorCall::AllocatorCall() { ++tAllocatorDepth; }
AllocatorCall::~AllocatorCall() { --tAllocatorDepth; }
bool insideAllocator() { return tAllocatorDepth > 0; }
bool allocatorMappingsLost() { return lost.load(std::memory_order_relaxed); }

void addAllocatorMapping(uint64_t begin, uint64_t end) {
  if (begin < end) add(begin, end);
}

void trimAllocatorMappings(uint64_t begin, uint64_t end) {
  size_t n = used.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) {
    uint64_t b = entries[i].begin.load(std::memory_order_acquire);
    uint64_t e = entries[i].end.load(std::memory_order_acquire);
    if (b == 0 || e <= begin || end <= b) continue;
    // Keep what lies outside [begin, end): the left part in place, the right part anew.
    if (b < begin) {
      entries[i].end.store(begin, std::memory_order_release);
    } else {
      entries[i].end.store(0, std::memory_order_release);
      entries[i].begin.store(0, std::memory_order_release);
    }
    if (end < e) add(end, e);
  }
}

size_t allocatorMappingsIn(uint64_t begin, uint64_t end, AddressRange* out, size_t capacity) {
  size_t n = used.load(std::memory_order_acquire), found = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t b = entries[i].begin.load(std::memory_order_relaxed);
    uint64_t e = entries[i].end.load(std::memory_order_relaxed);
    if (b == 0 || b >= end || e <= begin) continue;
    if (found < capacity) out[found] = {b, e};
    ++found;
  }
  return found;
}

}  // namespace tidemark::preload
