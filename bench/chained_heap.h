// The heap the snapshot benchmarks measure: about `megabytes` of malloc blocks of 1-16 KiB
// (or all of `blockBytes`, at least 8), touched, each pointing at the previous one, every
// 100th dropped (nothing points at it, so a snapshot has something to find).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>

struct ChainedBlock {
  ChainedBlock* previous;
};

struct ChainedHeap {
  ChainedBlock* head = nullptr;
  uint64_t bytes = 0, blocks = 0, dropped = 0;
};

inline ChainedHeap buildChainedHeap(uint64_t megabytes, size_t blockBytes = 0) {
  ChainedHeap heap;
  for (uint64_t i = 0; heap.bytes < (megabytes << 20); ++i) {
    size_t size = blockBytes >= 8 ? blockBytes : 1024 + (i * 2654435761u) % (15 * 1024);
    auto* b = static_cast<ChainedBlock*>(malloc(size));
    memset(b, 0, size);
    if (i % 100 == 99) {
      ++heap.dropped;
    } else {
      b->previous = heap.head;
      heap.head = b;
    }
    heap.bytes += size;
    ++heap.blocks;
  }
  return heap;
}
