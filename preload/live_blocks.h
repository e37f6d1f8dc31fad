// Live blocks (address → size, stack, allocation time) that a heap-graph snapshot scans.
// Each thread keeps the blocks it allocated in a table of its own, in its ring: the
// common free, by the allocating thread, touches only memory in that thread's cache. A
// free by another thread searches the other tables. Each table has a spinlock, for those
// remote frees; it is never a lock the program can hold, and a snapshot stops threads only
// outside table updates, so the frozen copy is consistent. Memory from the tracer's arena.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tidemark::preload {

// 24 bytes: a program with many small blocks has one of these per block (and a third to
// a half of the table's slots empty).
struct LiveBlock {
  uint64_t address;  // 0: empty slot
  uint64_t size;
  uint32_t stack;
  uint32_t allocTimeMs;  // since the trace began: with the address, the block's identity
};
static_assert(sizeof(LiveBlock) == 24);

// New blocks wait in a short list before they go into the hash table: a block freed
// soon after its allocation, as most are, never touches the table, and the rest go in
// together with their slots prefetched, instead of one cache miss after another.
class BlockTable {
 public:
  void insert(const LiveBlock& block);
  // False when the block is not in this table; else *erased is the block.
  bool erase(uint64_t address, LiveBlock* erased);
  // Forgets every block and releases the lock.
  void clear();
  // In a forked child (one thread): a table that a vanished thread held locked may be half
  // changed, and its lock would never be released: forget it. Others stay as they are.
  void afterFork() {
    if (lock_.load(std::memory_order_relaxed) != 0) clear();
  }

  // For the snapshot child (single-threaded, frozen copy). A block whose free the hooks
  // missed may be visited twice, once as recent: the newer one is the live one.
  template <typename Visit>
  void forEach(Visit&& visit) const {
    for (size_t i = 0; slots_ && i <= mask_; ++i) {
      if (slots_[i].address) visit(slots_[i]);
    }
    for (uint32_t i = 0; i < recentCount_; ++i) visit(recent_[i]);
  }
  uint64_t count() const { return used_ + recentCount_; }
  // Starts loading the slot where `address` would be, for an erase soon after. Only the
  // table's owner calls it (no other thread moves its slots).
  void prefetch(uint64_t address) const;

 private:
  static constexpr uint32_t kRecent = 32;

  bool grow();
  void place(const LiveBlock& block);  // into the hash table
  bool eraseFromTable(uint64_t address, LiveBlock* erased);
  void flushRecent();

  std::atomic<uint32_t> lock_{0};
  LiveBlock* slots_ = nullptr;  // mapped on the first flush
  size_t mask_ = 0;             // capacity - 1
  size_t used_ = 0;
  LiveBlock recent_[kRecent] = {};
  uint32_t recentCount_ = 0;
};

}  // namespace tidemark::preload
