// The tracer's arena: one large MAP_NORESERVE reservation carved by a bump pointer.
#include "raw_memory.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "raw_syscall.h"

namespace tidemark::preload {
namespace {

constexpr size_t kReserve = size_t{64} << 30;  // address space only; pages come on first touch
constexpr size_t kHugePage = size_t{2} << 20;

std::atomic<uintptr_t> arenaBegin{0};
std::atomic<uintptr_t> arenaNext{0};
std::atomic<uintptr_t> arenaEnd{0};

bool reserve() {
  if (arenaBegin.load(std::memory_order_acquire)) return true;
  void* p = mmap(nullptr, kReserve, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  uintptr_t expected = 0;
  auto begin = reinterpret_cast<uintptr_t>(p);
  if (!arenaBegin.compare_exchange_strong(expected, begin)) {
    munmap(p, kReserve);  // another thread reserved first
    return true;
  }
  arenaNext.store(begin, std::memory_order_release);
  arenaEnd.store(begin + kReserve, std::memory_order_release);
  return true;
}

}  // namespace

void* mapPages(size_t bytes) {
  if (!reserve()) return nullptr;
  size_t rounded = wholePages(bytes);
  uintptr_t at = arenaNext.fetch_add(rounded, std::memory_order_acq_rel);
  if (at + rounded > arenaEnd.load(std::memory_order_acquire)) return nullptr;
  return reinterpret_cast<void*>(at);
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

TracerRange tracerRange() {
  return {arenaBegin.load(std::memory_order_acquire), arenaEnd.load(std::memory_order_acquire)};
}

}  // namespace tidemark::preload
