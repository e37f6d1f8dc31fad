// A hash table of fixed-size slots keyed by address: open addressing, linear probing,
// backward-shift deletion, doubling at two thirds full, memory mapped outside the
// program's heap. The live-block tables keep their blocks in two of these (live_blocks.h).
// Not locked: its owner locks.
//
// A Slot says where it belongs and can carry one mark for a rehash:
//   uint64_t address() const;       0: an empty slot
//   void clear();                   makes it empty
//   bool unplaced() const;  void setUnplaced(bool);
#pragma once

#include <cstddef>
#include <cstdint>

namespace tidemark::preload {

template <typename Slot>
class SlotTable {
 public:
  // Grows the table, if need be, so that `more` new entries keep it under two thirds
  // full (maps it first when there are any). False when the memory could not be mapped.
  bool makeRoom(size_t more) {
    while (more && (!slots_ || (used_ + more) * 3 > (mask_ + 1) * 2)) {
      if (!grow()) return false;
    }
    return true;
  }
  // Starts loading the slot where `address` would be (to place or erase it soon). In asm:
  // GCC takes a function whose one effect is __builtin_prefetch for one without effects,
  // and drops its calls.
  void prefetch(uint64_t address) const {
    if (slots_) asm volatile("prefetcht0 %0" : : "m"(slots_[slotOf(address)]));
  }
  // After makeRoom. An address already there is replaced (seen live again): then true,
  // and *replaced is what was there.
  bool place(const Slot& slot, Slot* replaced) {
    size_t at = slotOf(slot.address());
    while (slots_[at].address() && slots_[at].address() != slot.address()) at = (at + 1) & mask_;
    bool there = slots_[at].address() != 0;
    if (there) {
      *replaced = slots_[at];
    } else {
      ++used_;
    }
    slots_[at] = slot;
    return there;
  }
  // False when the address is not here; else *erased is its slot.
  bool erase(uint64_t address, Slot* erased) {
    if (!slots_) return false;
    size_t at = slotOf(address);
    while (slots_[at].address() != address) {
      if (!slots_[at].address()) return false;
      at = (at + 1) & mask_;
    }
    *erased = slots_[at];
    // Backward-shift deletion keeps probe chains whole without tombstones.
    size_t hole = at;
    for (size_t next = (hole + 1) & mask_; slots_[next].address(); next = (next + 1) & mask_) {
      size_t home = slotOf(slots_[next].address());
      // `next` stays unless its home lies cyclically outside (hole, next].
      bool stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
      if (stays) continue;
      slots_[hole] = slots_[next];
      hole = next;
    }
    slots_[hole].clear();
    --used_;
    return true;
  }
  // Unmaps the slots.
  void clear();  // in slot_table.cpp

  template <typename Visit>
  void forEach(Visit&& visit) const {
    for (size_t i = 0; slots_ && i <= mask_; ++i) {
      if (slots_[i].address()) visit(slots_[i]);
    }
  }
  size_t used() const { return used_; }

 private:
  size_t slotOf(uint64_t address) const {
    uint64_t h = address * 0x9e3779b97f4a7c15ull;
    return (h ^ (h >> 29)) & mask_;
  }
  // In slot_table.cpp, for the two kinds of slot.
  bool grow();
  void rehashInPlace(size_t oldCapacity);

  Slot* slots_ = nullptr;  // mapped on the first makeRoom
  size_t mask_ = 0;        // capacity - 1
  size_t used_ = 0;
};

}  // namespace tidemark::preload
