// The tracer's arena: address space reserved with MAP_NORESERVE, carved by a bump pointer.
// One 64 GiB reservation where the kernel grants it; where it does not (a limit on the
// address space, RLIMIT_AS, or strict overcommit, vm.overcommit_memory 2), chunks of 64
// MiB as they are needed, so that the tracer takes little more than it uses from a
// program whose address space is counted.
#include "raw_memory.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "raw_syscall.h"

namespace tidemark::preload {
namespace {

constexpr size_t kFirstReserve = size_t{64} << 30;  // address space only; pages on first touch
constexpr size_t kSmallChunk = size_t{64} << 20;
constexpr size_t kHugePage = size_t{2} << 20;
constexpr uint32_t kMaxChunks = kMaxTracerRanges;

struct Chunk {
  std::atomic<uintptr_t> begin{0};
  std::atomic<size_t> bytes{0};
};
Chunk chunks[kMaxChunks];
std::atomic<uint32_t> chunkCount{0};  // chunks [0, chunkCount) are published
// Where the next piece comes from: the chunk's index in the top 8 bits, the offset into
// it below. One word, so that a piece is taken from one chunk with one fetch_add. The
// offset only grows until the next chunk's index replaces the word: once one piece did
// not fit, none after it does. Before the first chunk the index is kNoChunk.
constexpr int kIndexShift = 56;
constexpr uint64_t kOffsetMask = (uint64_t{1} << kIndexShift) - 1;
constexpr uint32_t kNoChunk = kMaxChunks;
std::atomic<uint64_t> cursor{uint64_t{kNoChunk} << kIndexShift};

// Raw calls: a chunk may be reserved inside an allocation hook, past the program's mmap
// and munmap hooks and without touching its errno.
void* reserve(size_t bytes) {
  long p = rawSyscall6(SYS_mmap, 0, static_cast<long>(bytes), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p < 0 && p > -4096 ? nullptr : reinterpret_cast<void*>(p);
}

void release(void* p, size_t bytes) {
  rawSyscall3(SYS_munmap, reinterpret_cast<long>(p), static_cast<long>(bytes), 0);
}

// Makes the chunk after `seen` (or the first) the one pieces come from; false when none
// can be had. Lock-free: of threads that find `seen` full together, the one whose
// reservation claims the slot publishes it, the others let theirs go and retry.
bool grow(uint32_t seen, size_t rounded) {
  uint32_t next = seen == kNoChunk ? 0 : seen + 1;
  if (chunkCount.load(std::memory_order_acquire) > next) return true;  // published: retry
  if (next >= kMaxChunks) return false;
  if (chunks[next].begin.load(std::memory_order_acquire) == 0) {
    size_t small = rounded > kSmallChunk ? wholePages(rounded) : kSmallChunk;
    size_t bytes = next == 0 ? kFirstReserve : small;
    void* p = reserve(bytes);
    if (!p && next == 0) p = reserve(bytes = small);
    if (!p) return false;
    uintptr_t expected = 0;
    if (!chunks[next].begin.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(p))) {
      release(p, bytes);  // another thread's chunk took the slot
      return true;
    }
    chunks[next].bytes.store(bytes, std::memory_order_relaxed);
    chunkCount.store(next + 1, std::memory_order_release);
    cursor.store(uint64_t{next} << kIndexShift, std::memory_order_release);
  }
  return true;  // the claiming thread publishes it; retry meanwhile
}

}  // namespace

void* mapPages(size_t bytes) {
  size_t rounded = wholePages(bytes);
  if (rounded == 0 || rounded > kOffsetMask) return nullptr;
  for (;;) {
    uint64_t at = cursor.fetch_add(rounded, std::memory_order_acq_rel);
    auto index = static_cast<uint32_t>(at >> kIndexShift);
    uint64_t offset = at & kOffsetMask;
    if (index < chunkCount.load(std::memory_order_acquire) &&
        offset + rounded <= chunks[index].bytes.load(std::memory_order_relaxed)) {
      return reinterpret_cast<void*>(chunks[index].begin.load(std::memory_order_relaxed) + offset);
    }
    if (!grow(index, rounded)) return nullptr;
  }
}

namespace {
// The kernel's advice for tracer memory: a raw call, so that neither the program's madvise
// hook sees it nor the program's errno changes (a hook may be growing a table).
void advise(const void* p, size_t bytes, int advice) {
  rawSyscall3(SYS_madvise, reinterpret_cast<long>(p), static_cast<long>(bytes), advice);
}
}  // namespace

void* mapHugePages(size_t bytes) {
  size_t rounded = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  auto at = reinterpret_cast<uintptr_t>(mapPages(rounded + kHugePage));  // room to align
  if (!at) return nullptr;
  void* aligned = reinterpret_cast<void*>((at + kHugePage - 1) & ~(kHugePage - 1));
  advise(aligned, rounded, MADV_HUGEPAGE);  // a hint: with THP off the pages stay small
  return aligned;
}

void unmapPages(void* p, size_t bytes) {
  if (p) advise(p, wholePages(bytes), MADV_DONTNEED);
}

void takePagesNow(void* p, size_t bytes) { advise(p, wholePages(bytes), MADV_POPULATE_WRITE); }

bool movePages(void* from, void* to, size_t bytes) {
  // DONTUNMAP leaves `from` mapped: a hole in the arena could take a mapping of the
  // program's, which a snapshot would then leave out of its roots as tracer memory.
  long at = rawSyscall5(SYS_mremap, reinterpret_cast<long>(from), static_cast<long>(bytes),
                        static_cast<long>(bytes), MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
                        reinterpret_cast<long>(to));
  return at == reinterpret_cast<long>(to);
}

void releasePagesWithin(const void* begin, const void* end) {
  uint64_t from = wholePages(reinterpret_cast<uint64_t>(begin));
  uint64_t to = reinterpret_cast<uint64_t>(end) & ~(kPageBytes - 1);
  if (from < to) advise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}

namespace {
// The child is single-threaded and maps a few dozen pieces; more than this is a bug.
constexpr size_t kMaxChildMappings = 128;
AddressRange childMappings[kMaxChildMappings];
size_t childMappingCount = 0;
}  // namespace

void* mapChildMemory(size_t bytes) {
  void* p =
      reinterpret_cast<void*>(syscall(SYS_mmap, nullptr, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (p == MAP_FAILED || childMappingCount == kMaxChildMappings) syscall(SYS_exit_group, 1);
  auto begin = reinterpret_cast<uint64_t>(p);
  childMappings[childMappingCount++] = {begin, begin + wholePages(bytes ? bytes : 1)};
  return p;
}

size_t childMemoryCount() { return childMappingCount; }
AddressRange childMemory(size_t i) { return childMappings[i]; }

bool overlapsTracerMemory(uint64_t begin, uint64_t end) {
  uint32_t n = chunkCount.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t low = chunks[i].begin.load(std::memory_order_relaxed);
    if (begin < low + chunks[i].bytes.load(std::memory_order_relaxed) && low < end) return true;
  }
  return false;
}

uint32_t tracerRanges(AddressRange* out, uint32_t capacity) {
  uint32_t n = chunkCount.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n && i < capacity; ++i) {
    uint64_t begin = chunks[i].begin.load(std::memory_order_relaxed);
    out[i] = {begin, begin + chunks[i].bytes.load(std::memory_order_relaxed)};
  }
  return n < capacity ? n : capacity;
}

}  // namespace tidemark::preload
