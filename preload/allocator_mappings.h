// Mappings an allocator makes while it serves a hooked allocation call: jemalloc,
// tcmalloc and mimalloc get their heaps from mmap, and their free space keeps stale
// pointers, so a snapshot must never scan them as roots (blocks inside them are still
// scanned, as blocks). A fixed table of ranges, lock-free: hooks add and trim entries,
// the scanning child reads its copy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "range_set.h"
#include "signal_deferral.h"

namespace tidemark::preload {

// Marks the calling thread as inside the real allocator for its lifetime (where a fatal
// signal waits: signal_deferral.h).
class AllocatorCall {
 public:
  AllocatorCall();
  ~AllocatorCall();
  AllocatorCall(const AllocatorCall&) = delete;
  AllocatorCall& operator=(const AllocatorCall&) = delete;

 private:
  SignalDeferral deferral_;
};

// Runs fn(args...) as an allocator call.
template <typename Fn, typename... Args>
auto callAllocator(Fn fn, Args... args) {
  AllocatorCall call;
  return fn(args...);
}

bool insideAllocator();

// [begin, end) was mapped by an allocator call.
void addAllocatorMapping(uint64_t begin, uint64_t end);
// Some allocator mapping found the table full (it stays a root; snapshots say so).
bool allocatorMappingsLost();
// [begin, end) was unmapped (by anyone): the allocator ranges lose that part.
void trimAllocatorMappings(uint64_t begin, uint64_t end);
// Copies the allocator ranges that overlap [begin, end) into out, at most `capacity` of
// them; returns how many overlap (may exceed capacity).
size_t allocatorMappingsIn(uint64_t begin, uint64_t end, AddressRange* out, size_t capacity);

}  // namespace tidemark::preload
