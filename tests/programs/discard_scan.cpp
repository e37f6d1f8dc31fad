// Test program: memory discarded while a guarded snapshot is being prepared, written, and
// written again once the snapshot has stopped the program. Makes 1M small blocks (the
// scanning child indexes them before it reads any root) and a 1 GiB mapping of its own,
// marked DONTFORK as V8 marks its heap (a discarded mapping stays guarded only then),
// 80 MiB of it written (over the 64 MiB from which snapshots are guarded by default; the
// rest makes the tracer's write protection of it, one call from its start to its end
// before it stops the program, last some milliseconds), asks for a snapshot (tidemark.h),
// and writes to the mapping's first page until a write takes long: the protection has
// begun (the tracer's helper let the write through). Then it discards one page of it
// (MADV_DONTNEED), puts there the only pointer to a block (keptBlock, 100 bytes), waits for the
// scanning child to appear (the stop is over), and zeroes the page. The snapshot must see the page
// as it was at the stop: the block reachable. At exit it is definitely lost. Prints "rewritten"
// when it got that order, "missed" when the stop came first.
#include <sys/mman.h>
#include <tidemark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "scan_child.h"

namespace {

constexpr size_t kRegionBytes = size_t{1} << 30;
constexpr size_t kWrittenBytes = size_t{80} << 20;
constexpr size_t kPage = 4096;
constexpr size_t kMany = 1'000'000;

void* volatile kept;  // the block's only reference until the page takes it over

__attribute__((noinline)) void keepBlock() { kept = malloc(100); }

// Moves the reference into the page, leaving none behind in a register of main's.
__attribute__((noinline)) void handOver(void** page) {
  page[7] = kept;
  kept = nullptr;
}

__attribute__((noinline)) void scrub() {
  volatile char area[16384];
  for (size_t i = 0; i < sizeof area; ++i) area[i] = 0;
}

// Writes to `probe` until one write takes more than 20 µs: a fault the tracer's helper
// answered (or, rarely, a preemption: the program then only misses the order it wants).
bool waitForProtection(volatile unsigned char* probe) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (unsigned char i = 0;; ++i) {
    auto before = std::chrono::steady_clock::now();
    probe[0] = i;
    auto after = std::chrono::steady_clock::now();
    if (after - before > std::chrono::microseconds(20)) return true;
    if (after > deadline) return false;
  }
}

}  // namespace

int main() {
  keepBlock();  // first: the block next to glibc's top chunk is pointed into by the arena
  std::vector<void*> many(kMany);
  for (auto& p : many) p = malloc(32);
  auto* region =
      static_cast<unsigned char*>(mmap(nullptr, kRegionBytes, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (region == MAP_FAILED || madvise(region, kRegionBytes, MADV_DONTFORK) != 0) return 2;
  memset(region, 1, kWrittenBytes);
  // Next to the probed first page: the protection has passed it when the probe notices.
  auto** page = reinterpret_cast<void**>(region + kPage);
  tidemark_snapshot();
  if (!waitForProtection(region)) return 3;
  bool missed = scanning();
  madvise(page, kPage, MADV_DONTNEED);
  handOver(page);
  scrub();
  if (!waitFor(scanning)) return 4;
  memset(page, 0, kPage);
  printf("discard_scan: %s\n", missed ? "missed" : "rewritten");
  fflush(stdout);
  waitFor([] { return !scanning(); });
  for (void* p : many) free(p);
  return 0;
}
