// What a snapshot costs a program that keeps writing its heap: builds about SIZE_MB of
// blocks (bench/chained_heap.h), then for SECONDS writes one word into a random block at a
// time and counts the writes in 10 ms slices. Run it untraced and under tidemark record
// --snapshot-every (copied, or --guard-heap): the first write to each page after a
// snapshot's stop costs a copy, by the kernel (copied) or by the tracer (guarded).
// Prints the writes per second over the run and in its slowest 10 ms slice.
//   write_bench SIZE_MB SECONDS
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "chained_heap.h"

ChainedBlock* head;  // a root: every block but the dropped ones is reachable

int main(int argc, char** argv) {
  uint64_t megabytes = argc > 1 ? strtoull(argv[1], nullptr, 10) : 1024;
  double seconds = argc > 2 ? atof(argv[2]) : 5;
  ChainedHeap heap = buildChainedHeap(megabytes);
  head = heap.head;
  std::vector<ChainedBlock*> blocks;
  for (ChainedBlock* b = heap.head; b; b = b->previous) blocks.push_back(b);
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now(), sliceStart = start;
  uint64_t writes = 0, sliceWrites = 0, slowestSlice = UINT64_MAX;
  uint64_t state = 88172645463325252ull;
  for (;;) {
    for (int i = 0; i < 256; ++i) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      auto* word = reinterpret_cast<volatile uint64_t*>(blocks[state % blocks.size()]) + 1;
      *word = *word + 1;
    }
    sliceWrites += 256;
    auto now = Clock::now();
    if (now - sliceStart >= std::chrono::milliseconds(10)) {
      if (sliceWrites < slowestSlice) slowestSlice = sliceWrites;
      writes += sliceWrites;
      sliceWrites = 0;
      sliceStart = now;
      if (std::chrono::duration<double>(now - start).count() >= seconds) break;
    }
  }
  double elapsed = std::chrono::duration<double>(sliceStart - start).count();
  printf("write_bench: %llu MB, %.2f M writes/s, slowest 10 ms: %.2f M writes/s\n",
         static_cast<unsigned long long>(heap.bytes >> 20), writes / elapsed / 1e6,
         slowestSlice / 0.01 / 1e6);
  return 0;
}
