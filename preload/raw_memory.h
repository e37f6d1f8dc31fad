// Tracer memory straight from the kernel: the hook layer never calls malloc. Everything
// comes from reserved ranges (one, unless the kernel refuses a large reservation), so a
// heap-graph snapshot can leave the tracer's own memory (rings, tables: full of heap
// addresses) out of its roots with a range check or a few.
#pragma once

#include <cstddef>
#include <cstdint>

#include "range_set.h"

namespace tidemark::preload {

constexpr uint64_t kPageBytes = 4096;
// `bytes` in whole pages, as the kernel counts a mapping's length.
constexpr uint64_t wholePages(uint64_t bytes) {
  return (bytes + kPageBytes - 1) & ~(kPageBytes - 1);
}

// Zeroed, page-aligned memory; nullptr when exhausted. Thread-safe, lock-free.
void* mapPages(size_t bytes);
// The same for a big table: 2 MiB-aligned and marked for transparent huge pages, so that
// random access to it misses the TLB less, it faults in 512 times fewer pieces, and a
// snapshot's fork has 512 times fewer of its page-table entries to copy. Give it back
// with unmapPages.
void* mapHugePages(size_t bytes);
// Gives the pages back to the kernel (the address range is not reused).
void unmapPages(void* p, size_t bytes);
// Gives back the whole pages inside [begin, end); they read as zeros when next touched.
void releasePagesWithin(const void* begin, const void* end);
// Moves the pages of [from, from + bytes) to `to` (both tracer memory from this arena,
// page-aligned, not overlapping) without copying them; `from` stays mapped and reads as
// zeros. False where the kernel refuses (MREMAP_DONTUNMAP: Linux 5.7): nothing moved.
bool movePages(void* from, void* to, size_t bytes);
// Takes the pages of [p, p + bytes) from the kernel now, written (MADV_POPULATE_WRITE,
// Linux 5.14; where refused, they come on first touch as before).
void takePagesNow(void* p, size_t bytes);

// Zeroed memory for the snapshot's scanning child, outside the arena (the child's copy
// of the arena is the program's state it reads); a child that cannot map cannot scan, so
// it exits. Raw system calls only. The child's own memory is never a root: each mapping
// is noted, and childMemory(i) gives the i-th of childMemoryCount() of them.
void* mapChildMemory(size_t bytes);
size_t childMemoryCount();
AddressRange childMemory(size_t i);

// The reserved ranges all tracer memory comes from, in the order reserved: writes up to
// `capacity` of them to `out` and returns how many. kMaxTracerRanges hold them all.
inline constexpr uint32_t kMaxTracerRanges = 64;
uint32_t tracerRanges(AddressRange* out, uint32_t capacity);
// Whether [begin, end) overlaps tracer memory.
bool overlapsTracerMemory(uint64_t begin, uint64_t end);

}  // namespace tidemark::preload
