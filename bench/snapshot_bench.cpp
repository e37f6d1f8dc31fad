// Heap for snapshot benchmarks: allocates about SIZE_MB (bench/chained_heap.h) and exits;
// the exit snapshot's pause and scan times are the result. With RESERVED_GB, it also maps
// that much read-write memory it never writes but for one word, a second pointer to the
// heap (an arena of a program's own, reserved up front), and WRITTEN_PAGES pages of it
// spread evenly over the whole (as V8's pointer-compression cage is written: few pages,
// far apart, each needing page tables of its own).
//   snapshot_bench SIZE_MB [BLOCK_BYTES [RESERVED_GB [WRITTEN_PAGES]]]
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>

#include "chained_heap.h"

ChainedBlock* head;  // a root, so only the dropped blocks are lost

int main(int argc, char** argv) {
  ChainedHeap heap = buildChainedHeap(argc > 1 ? strtoull(argv[1], nullptr, 10) : 100,
                                      argc > 2 ? strtoull(argv[2], nullptr, 10) : 0);
  head = heap.head;
  if (size_t reserved = argc > 3 ? strtoull(argv[3], nullptr, 10) << 30 : 0) {
    void* arena = mmap(nullptr, reserved, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (arena == MAP_FAILED) return 1;
    static_cast<ChainedBlock**>(arena)[reserved / 2 / sizeof(ChainedBlock*)] = heap.head;
    size_t written = argc > 4 ? strtoull(argv[4], nullptr, 10) : 0;
    constexpr size_t kPage = 4096;
    for (size_t i = 0; i < written; ++i) {
      static_cast<char*>(arena)[i * (reserved / written / kPage) * kPage] = 1;
    }
  }
  // How much of it the kernel backs with transparent huge pages (tidemark record
  // --huge-pages asks glibc for them).
  unsigned long long hugeKb = 0;
  if (FILE* rollup = fopen("/proc/self/smaps_rollup", "r")) {
    char line[256];
    while (fgets(line, sizeof line, rollup)) sscanf(line, "AnonHugePages: %llu kB", &hugeKb);
    fclose(rollup);
  }
  printf("snapshot_bench: %llu kB on huge pages\n", hugeKb);
  printf("snapshot_bench: %llu blocks, %llu MB, %llu dropped\n",
         static_cast<unsigned long long>(heap.blocks),
         static_cast<unsigned long long>(heap.bytes >> 20),
         static_cast<unsigned long long>(heap.dropped));
  return 0;
}
