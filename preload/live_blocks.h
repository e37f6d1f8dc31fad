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

#include "slot_table.h"

namespace tidemark::preload {

// A block as the hooks and the snapshot see it.
struct LiveBlock {
  uint64_t address;  // 0: none
  uint64_t size;
  uint32_t stack;
  uint32_t allocTimeMs;  // since the trace began: with the address, the block's identity
};

// How a table keeps a block: in 16 bytes, not 24, as a program with many small blocks has
// one per block, and a third to a half of the table's slots empty (fewer pages to clear
// as the table grows, more blocks per cache line). The address must be below 2^47 (all of
// a process's on x86-64 unless it asks for more); a size of 65,535 or more is kept
// beside, in a WideBlock, with this one holding the address's place.
struct PackedBlock {
  static constexpr unsigned kSizeShift = 48;
  static constexpr uint64_t kAddressMask = (uint64_t{1} << 47) - 1;
  static constexpr uint64_t kUnplaced = uint64_t{1} << 47;
  static constexpr uint64_t kSizeKeptBeside = 0xffff;

  uint64_t word;  // address: bits 0-46; bit 47: SlotTable's mark; size: bits 48-63
  uint32_t stack;
  uint32_t allocTimeMs;

  static bool addressFits(uint64_t address) { return (address & ~kAddressMask) == 0; }
  static PackedBlock of(const LiveBlock& b) {
    uint64_t size = b.size < kSizeKeptBeside ? b.size : kSizeKeptBeside;
    return {b.address | size << kSizeShift, b.stack, b.allocTimeMs};
  }
  bool sizeKeptBeside() const { return word >> kSizeShift == kSizeKeptBeside; }
  LiveBlock unpacked() const { return {address(), word >> kSizeShift, stack, allocTimeMs}; }
  uint64_t address() const { return word & kAddressMask; }
  void clear() { word = 0; }
  bool unplaced() const { return word & kUnplaced; }
  void setUnplaced(bool mark) { word = mark ? word | kUnplaced : word & ~kUnplaced; }
};
static_assert(sizeof(PackedBlock) == 16);

// A block whole: the big ones (beside their PackedBlock), and those at addresses above
// 2^47 (alone).
struct WideBlock {
  static constexpr uint64_t kUnplaced = uint64_t{1} << 63;  // no block is 2^63 bytes

  LiveBlock block;

  uint64_t address() const { return block.address; }
  void clear() { block.address = 0; }
  bool unplaced() const { return block.size & kUnplaced; }
  void setUnplaced(bool mark) {
    block.size = mark ? block.size | kUnplaced : block.size & ~kUnplaced;
  }
};

// New blocks wait in a short list before they go into a hash table: a block freed soon
// after its allocation, as most are, never touches the table, and the rest go in together
// with their slots prefetched, instead of one cache miss after another.
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
    packed_.forEach([&](const PackedBlock& b) {
      if (!b.sizeKeptBeside()) visit(b.unpacked());
    });
    wide_.forEach([&](const WideBlock& b) { visit(b.block); });
    for (uint32_t i = 0; i < recentCount_; ++i) visit(recent_[i]);
  }
  uint64_t count() const { return packed_.used() - keptBeside_ + wide_.used() + recentCount_; }
  // Starts loading the slot where `address` would be, for an erase soon after. Only the
  // table's owner calls it (no other thread moves its slots).
  void prefetch(uint64_t address) const { packed_.prefetch(address); }

 private:
  static constexpr uint32_t kRecent = 32;

  void flushRecent();
  void place(const LiveBlock& block);
  bool eraseFromTables(uint64_t address, LiveBlock* erased);

  std::atomic<uint32_t> lock_{0};
  std::atomic<bool> used_{false};  // a block was inserted since the last clear()
  SlotTable<PackedBlock> packed_;
  SlotTable<WideBlock> wide_;
  size_t keptBeside_ = 0;  // packed blocks whose size is in wide_
  LiveBlock recent_[kRecent] = {};
  uint32_t recentCount_ = 0;
};

}  // namespace tidemark::preload
