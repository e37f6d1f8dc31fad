// Heap for snapshot benchmarks: allocates about SIZE_MB of blocks (1-16 KiB, each
// pointing at the previous one, every 100th dropped so there is something to find),
// touches them, and exits; the exit snapshot's pause and scan times are the result.
//   snapshot_bench SIZE_MB
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

struct Block {
  Block* previous;
};

Block* head;

int main(int argc, char** argv) {
  uint64_t target = (argc > 1 ? strtoull(argv[1], nullptr, 10) : 100) << 20;
  uint64_t total = 0, blocks = 0, dropped = 0;
  for (uint64_t i = 0; total < target; ++i) {
    size_t size = 1024 + (i * 2654435761u) % (15 * 1024);
    auto* b = static_cast<Block*>(malloc(size));
    memset(b, 0, size);
    if (i % 100 == 99) {
      ++dropped;  // lost: nothing points at it
    } else {
      b->previous = head;
      head = b;
    }
    total += size;
    ++blocks;
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
         static_cast<unsigned long long>(blocks), static_cast<unsigned long long>(total >> 20),
         static_cast<unsigned long long>(dropped));
  return 0;
}
