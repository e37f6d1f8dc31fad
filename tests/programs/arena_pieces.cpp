// Test program: a thread arena's heap that a guarded snapshot finds in two mappings, and
// free memory in the second one that glibc discards while the next snapshot's scan runs.
// A worker thread (its own arena) fills 8 MiB of 64 KiB blocks and asks for a snapshot;
// while that snapshot's scan runs (1M small blocks in the main thread's arena make its
// child index for a while) it fills 8 MiB more: the heap grows, by mprotect, next to a
// part the tracer has registered for write protection, and the kernel keeps the two
// apart even after the tracer lets go. Once that scan is over, the worker frees every
// other block of the second part, asks for a second snapshot and, once its scan runs,
// calls malloc_trim, which discards the free blocks' pages inside glibc (no madvise call
// the tracer sees) before the child has read them. Free memory of the allocator's: the
// second snapshot must still be complete. Now and then the kernel merges the two mappings
// again: the worker then grows its heap once more under another snapshot, up to 4 times.
// Prints how many mappings the arena's heap spans at the second snapshot and whether the
// trim came while the scan ran ("heap pieces 2, trimmed while scanned"); exits 0 with
// every block freed.
#include <malloc.h>
#include <tidemark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "scan_child.h"

namespace {

constexpr size_t kBlockBytes = 64 * 1024;  // under the mmap threshold: from the arena
constexpr size_t kBlocks = 128;            // 8 MiB
constexpr size_t kMany = 1'000'000;
constexpr int kRounds = 4;  // the heap grows 8 MiB each: 40 MiB of its 64 at most
constexpr uintptr_t kArenaHeapBytes = uintptr_t{64} << 20;  // glibc's HEAP_MAX_SIZE

std::vector<void*> fill() {
  std::vector<void*> blocks(kBlocks);
  for (auto& b : blocks) {
    b = malloc(kBlockBytes);
    memset(b, 1, kBlockBytes);
  }
  return blocks;
}

// How many writable mappings lie in the 64 MiB-aligned heap that holds `block`.
int heapPieces(const void* block) {
  uintptr_t base = reinterpret_cast<uintptr_t>(block) & ~(kArenaHeapBytes - 1);
  std::ifstream maps("/proc/self/maps");
  int pieces = 0;
  for (std::string line; std::getline(maps, line);) {
    std::istringstream fields(line);
    uintptr_t begin = 0;
    char dash;
    std::string permissions;
    fields >> std::hex >> begin >> dash;
    fields.ignore(64, ' ');
    fields >> permissions;
    if (begin >= base && begin < base + kArenaHeapBytes && permissions[1] == 'w') ++pieces;
  }
  return pieces;
}

void worker() {
  std::vector<void*> blocks = fill();
  for (int round = 0; round < kRounds; ++round) {
    tidemark_snapshot();
    waitFor(scanning);
    std::vector<void*> grown = fill();
    waitFor([] { return !scanning(); });
    int pieces = heapPieces(grown.back());
    if (pieces < 2) {  // the kernel merged them again once the tracer let go: once more
      blocks.insert(blocks.end(), grown.begin(), grown.end());
      continue;
    }
    for (size_t i = 0; i < kBlocks; i += 2) free(grown[i]);
    tidemark_snapshot();
    waitFor(scanning);
    malloc_trim(0);
    printf("heap pieces %d, trimmed %s\n", pieces, scanning() ? "while scanned" : "late");
    fflush(stdout);
    waitFor([] { return !scanning(); });
    for (size_t i = 1; i < kBlocks; i += 2) free(grown[i]);
    break;
  }
  for (void* b : blocks) free(b);
}

}  // namespace

int main() {
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // no trim as blocks are freed: only malloc_trim's
  std::vector<void*> many(kMany);
  for (auto& p : many) p = malloc(32);
  std::thread(worker).join();
  for (void* p : many) free(p);
  return 0;
}
