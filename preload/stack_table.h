// Lock-free interning of call stacks: instruction-pointer arrays → small dense ids.
// Any thread may call intern() concurrently, from inside an allocation hook: it never
// allocates (all memory is mapped once at init) and never takes a lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "../format/trace_format.h"
#include "written_pages.h"

namespace tidemark::preload {

// The stack table's generations of slots (StackTable::Slot).
namespace stack_slots {
inline constexpr unsigned kGenerations = 4;
constexpr size_t slotsOf(unsigned generation) { return size_t{1} << (14 + 2 * generation); }
constexpr size_t firstSlotOf(unsigned generation) {
  return generation == 0 ? 0 : firstSlotOf(generation - 1) + slotsOf(generation - 1);
}
}  // namespace stack_slots

class StackTable {
 public:
  static constexpr uint32_t kUnknownStack = 0;

  // Maps the table's memory. Returns false when the kernel refuses.
  bool init();
  // In a forked child (one thread): slots a vanished thread was inserting become broken,
  // so no lookup waits for them.
  void afterFork();

  // Calls visit(id, ips, depth) for every stack interned so far (a forked child's trace
  // starts by defining the stacks it inherited). Only where no thread interns meanwhile.
  template <typename Visit>
  void forEach(Visit&& visit) const {
    if (!slots_) return;
    uint32_t last = nextId_.load(std::memory_order_acquire);
    for (uint32_t id = 1; id < last && id <= kSlots; ++id) {
      const Slot& slot = slots_[slotOfId_[id]];
      if (slot.id.load(std::memory_order_acquire) == id) {
        visit(id, ips_ + slot.offset, slot.depth);
      }
    }
  }

  // Returns the id of `ips[0..depth)`, inserting it when new (then *isNew is set and the
  // caller must write the stack's definition before using the id). Returns kUnknownStack
  // when the table is full.
  uint32_t intern(const uintptr_t* ips, uint32_t depth, bool* isNew);

  uint32_t count() const { return nextId_.load(std::memory_order_relaxed) - 1; }

 private:
  struct Slot {
    // 0: empty; set first, by the inserting thread's CAS; kMovedOn: lookups go on to the
    // next generation from here.
    std::atomic<uint64_t> hash;
    std::atomic<uint32_t> id;  // 0 until the ips are in place
    uint32_t depth;
    uint64_t offset;  // into ips_
  };
  // Slots come in generations of 16K, 64K, 256K and 1M: a program's stacks fill the first
  // until it is half full, then the next. Hashed stacks land on every page of a table, so
  // a program with a few thousand stacks touched thousands of pages of one table of 1M
  // (alloc_bench: 2,000 stacks, 11 MB resident); now it touches the 384 KB of the first.
  // A slot found empty in a generation that is full enough is marked kMovedOn instead of
  // claimed, by the same compare-and-swap: every thread looking for a stack sees the same
  // slots in the same order, so they all find it, or all go on to the next generation.
  static constexpr unsigned kGenerations = stack_slots::kGenerations;
  static constexpr size_t kSlots = stack_slots::firstSlotOf(kGenerations);
  static_assert(kSlots <= format::kMaxStackId, "ids a reader of the trace accepts");
  static constexpr uint64_t kMovedOn = 2;  // even: no stack's hash (hashStack sets bit 0)
  static constexpr size_t kIpCapacity = size_t{1} << 25;  // 256 MiB reserved, touched lazily
  static constexpr unsigned kMaxProbes = 4096;
  static constexpr uint32_t kBrokenSlot = UINT32_MAX;  // claimed, but the ip store was full

  // Claims `slot` (empty, global index `index`) for the stack; its id, or kUnknownStack
  // when the ip store is full.
  uint32_t insert(Slot& slot, size_t index, const uintptr_t* ips, uint32_t depth);

  Slot* slots_ = nullptr;
  uintptr_t* ips_ = nullptr;
  uint32_t* slotOfId_ = nullptr;  // id → slot index, so forEach visits only stacks in use
  std::atomic<uint64_t> ipsUsed_{0};
  std::atomic<uint32_t> nextId_{1};
  std::atomic<uint32_t> unpublished_{0};              // slots claimed whose id is not stored yet
  std::atomic<uint32_t> claimed_[kGenerations] = {};  // stacks in each generation
  WrittenPages<kSlots * sizeof(Slot)> writtenSlots_;  // which pages of slots_ hold one
};

}  // namespace tidemark::preload
