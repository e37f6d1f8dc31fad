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

// The size of block i, and whether it is dropped: the heap's whole definition, so that a
// test can tell what a snapshot must find without building the heap.
inline size_t chainedBlockSize(uint64_t i, size_t blockBytes = 0) {
  return blockBytes >= 8 ? blockBytes : 1024 + (i * 2654435761u) % (15 * 1024);
}
inline bool chainedBlockDropped(uint64_t i) { return i % 100 == 99; }

// The bytes of the dropped blocks in a heap of `megabytes` (block sizes as below).
inline uint64_t chainedDroppedBytes(uint64_t megabytes, size_t blockBytes = 0) {
  uint64_t bytes = 0, dropped = 0;
  for (uint64_t i = 0; bytes < (megabytes << 20); ++i) {
    bytes += chainedBlockSize(i, blockBytes);
    if (chainedBlockDropped(i)) dropped += chainedBlockSize(i, blockBytes);
  }
  return dropped;
}

inline ChainedHeap buildChainedHeap(uint64_t megabytes, size_t blockBytes = 0) {
  ChainedHeap heap;
  for (uint64_t i = 0; heap.bytes < (megabytes << 20); ++i) {
    size_t size = chainedBlockSize(i, blockBytes);
    auto* b = static_cast<ChainedBlock*>(malloc(size));
    memset(b, 0, size);
    if (chainedBlockDropped(i)) {
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
