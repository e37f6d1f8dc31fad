// The tracer's table of live blocks (address → size, stack, allocation time), which a
// heap-graph snapshot scans. Sharded open addressing, each shard under a spinlock of its
// own: hooks of different threads rarely meet, no lock is ever one the program can hold,
// and a snapshot stops threads only outside hooks, so the frozen copy is consistent.
// Memory from mmap; a shard doubles when it is half full.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tidemark::preload {

struct LiveBlock {
  uint64_t address;  // 0: empty slot
  uint64_t size;
  uint32_t stack;
  uint32_t reserved;
  uint64_t allocTimeUs;
};

class LiveBlocks {
 public:
  static constexpr uint32_t kShards = 256;

  bool init();
  void insert(const LiveBlock& block);
  void erase(uint64_t address);
  // After fork: the child's table is the parent's, but a lock held by a thread that does
  // not exist in the child must be released.
  void unlockAllAfterFork();
  // Forgets every block (a forked child starts its own trace, with its own stack ids).
  void clear();

  // For the snapshot child (single-threaded, frozen copy): visits every block.
  template <typename Visit>
  void forEach(Visit&& visit) const {
    for (const Shard& shard : shards_) {
      for (size_t i = 0; shard.slots && i <= shard.mask; ++i) {
        if (shard.slots[i].address) visit(shard.slots[i]);
      }
    }
  }
  uint64_t count() const;

 private:
  struct alignas(64) Shard {
    std::atomic<uint32_t> lock{0};
    LiveBlock* slots = nullptr;
    size_t mask = 0;  // capacity - 1
    size_t used = 0;
  };
  static size_t shardOf(uint64_t address);
  static size_t slotOf(uint64_t address, size_t mask);
  bool grow(Shard& shard);

  Shard shards_[kShards];
};

}  // namespace tidemark::preload
