// Sharded live-block table (see live_blocks.h).
#include "live_blocks.h"

#include <sched.h>

#include "raw_memory.h"

namespace tidemark::preload {
namespace {

constexpr size_t kInitialSlots = 1024;

class ShardLock {
 public:
  explicit ShardLock(std::atomic<uint32_t>& word) : word_(word) {
    for (unsigned spins = 0;; ++spins) {
      if (word_.load(std::memory_order_relaxed) == 0 &&
          word_.exchange(1, std::memory_order_acquire) == 0) {
        return;
      }
      if (spins > 100) sched_yield();  // the holder was preempted
    }
  }
  ~ShardLock() { word_.store(0, std::memory_order_release); }

 private:
  std::atomic<uint32_t>& word_;
};

uint64_t mix(uint64_t address) {
  uint64_t h = address * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

}  // namespace

size_t LiveBlocks::shardOf(uint64_t address) { return (mix(address) >> 56) % kShards; }
size_t LiveBlocks::slotOf(uint64_t address, size_t mask) { return mix(address) & mask; }

bool LiveBlocks::init() {
  for (Shard& shard : shards_) {
    shard.slots = static_cast<LiveBlock*>(mapPages(kInitialSlots * sizeof(LiveBlock)));
    if (!shard.slots) return false;
    shard.mask = kInitialSlots - 1;
  }
  return true;
}

bool LiveBlocks::grow(Shard& shard) {
  size_t capacity = (shard.mask + 1) * 2;
  auto* slots = static_cast<LiveBlock*>(mapPages(capacity * sizeof(LiveBlock)));
  if (!slots) return false;
  for (size_t i = 0; i <= shard.mask; ++i) {
    const LiveBlock& b = shard.slots[i];
    if (!b.address) continue;
    size_t at = slotOf(b.address, capacity - 1);
    while (slots[at].address) at = (at + 1) & (capacity - 1);
    slots[at] = b;
  }
  unmapPages(shard.slots, (shard.mask + 1) * sizeof(LiveBlock));
  shard.slots = slots;
  shard.mask = capacity - 1;
  return true;
}

void LiveBlocks::insert(const LiveBlock& block) {
  Shard& shard = shards_[shardOf(block.address)];
  if (!shard.slots) return;
  ShardLock lock(shard.lock);
  if ((shard.used + 1) * 2 > shard.mask + 1 && !grow(shard)) return;
  size_t at = slotOf(block.address, shard.mask);
  while (shard.slots[at].address && shard.slots[at].address != block.address) {
    at = (at + 1) & shard.mask;
  }
  if (!shard.slots[at].address) ++shard.used;
  shard.slots[at] = block;  // an address seen live again replaces its old entry
}

void LiveBlocks::erase(uint64_t address) {
  Shard& shard = shards_[shardOf(address)];
  if (!shard.slots) return;
  ShardLock lock(shard.lock);
  size_t at = slotOf(address, shard.mask);
  while (shard.slots[at].address != address) {
    if (!shard.slots[at].address) return;  // not traced (allocated before the tracer)
    at = (at + 1) & shard.mask;
  }
  // Backward-shift deletion keeps probe chains whole without tombstones.
  size_t hole = at;
  for (size_t next = (hole + 1) & shard.mask; shard.slots[next].address;
       next = (next + 1) & shard.mask) {
    size_t home = slotOf(shard.slots[next].address, shard.mask);
    // Move `next` into the hole unless its home lies cyclically in (hole, next].
    bool stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
    if (stays) continue;
    shard.slots[hole] = shard.slots[next];
    hole = next;
  }
  shard.slots[hole].address = 0;
  --shard.used;
}

void LiveBlocks::unlockAllAfterFork() {
  for (Shard& shard : shards_) shard.lock.store(0, std::memory_order_relaxed);
}

void LiveBlocks::clear() {
  for (Shard& shard : shards_) {
    if (!shard.slots) continue;
    unmapPages(shard.slots, (shard.mask + 1) * sizeof(LiveBlock));
    shard.slots = static_cast<LiveBlock*>(mapPages(kInitialSlots * sizeof(LiveBlock)));
    shard.mask = shard.slots ? kInitialSlots - 1 : 0;
    shard.used = 0;
    shard.lock.store(0, std::memory_order_relaxed);
  }
}

uint64_t LiveBlocks::count() const {
  uint64_t n = 0;
  for (const Shard& shard : shards_) n += shard.used;
  return n;
}

}  // namespace tidemark::preload
