// The scanning child's view of the guarded mappings (heap_guard.h): their content at the
// stop, filled in 2 MiB windows as the scan reaches them. At most 128 MiB of windows stay
// filled at a time (a heap is scanned in address order; a window let go is read again if
// the scan comes back), so the child never holds a second copy of a big heap. Small
// reads elsewhere (a pointer's target) peek without filling a window.
// A window let go moves its pages out to a pool of 2 MiB slots, and a window filled later
// moves them in (mremap, leaving both places mapped): a page the kernel hands out costs
// more than reading 4 KiB into it (2-3 us each on this machine, two thirds of a guarded
// scan of 1 GB when every window took fresh ones).
#pragma once

#include <cstddef>
#include <cstdint>

#include "heap_guard.h"

namespace tidemark::preload {

class GuardedMemory {
 public:
  // `guard` may be nullptr: then all memory is the child's copy, readable as it is.
  GuardedMemory(HeapGuard* guard, LostMemoryFn lost, void* context);

  // Makes [begin, end) readable in place, for a scan in address order: may let windows
  // go, never one of [begin, end). The range lies in one mapping of the child (the scan
  // clips to them, and a guarded mapping is one).
  void fill(uint64_t begin, uint64_t end);
  // The end of the window that holds `address`, or UINT64_MAX when it is not in a guarded
  // mapping: a scan fills and reads one window at a time, not a range (a root range
  // may be a reservation of gigabytes, and all of its windows would stay filled).
  uint64_t windowEnd(uint64_t address) const;
  // The first address at or after `from` (below `end`) that may hold anything but zeros:
  // `from` unless it is in a sparse guarded mapping (heap_guard.h's firstPageWithContent), whose
  // pages the program never had need no window.
  uint64_t firstWithContent(uint64_t from, uint64_t end);
  // Copies `bytes` (at most a page's worth, within one page) at `address`; false when that
  // memory is gone.
  bool read(uint64_t address, void* out, size_t bytes) const;
  // The scan is over: the helper stops guarding; `lost` hears of what changed meanwhile.
  void finish();
  // Whether guarded mapping i is this view's to fill: false when it is not active, or this
  // child could not map it again (then what the clone gave it, if anything, is read).
  bool holds(uint32_t i) const { return guard_ && held_[i]; }

 private:
  static constexpr uint64_t kWindowBytes = kMaxReadBytes;
  static constexpr uint64_t kBudgetWindows = 64;

  // The held mapping that contains `address`, or -1.
  int64_t heldAt(uint64_t address) const;
  uint64_t windowOf(uint32_t mapping, uint64_t address) const;
  uint32_t mappingOfWindow(uint64_t window) const;
  void fillWindow(uint32_t mapping, uint64_t window);
  void letGo(uint64_t window);
  // The window's [begin, end): within its mapping, the last one may be shorter.
  void windowRange(uint64_t window, uint64_t* begin, uint64_t* end) const;

  HeapGuard* guard_;
  LostMemoryFn lost_;
  void* context_;
  uint8_t* held_ = nullptr;          // per guarded mapping
  uint64_t* windowBase_ = nullptr;   // per guarded mapping (and one past): its first window
  uint8_t* filled_ = nullptr;        // per window
  uint64_t* filledOrder_ = nullptr;  // the filled windows, oldest first (a ring)
  uint64_t windows_ = 0;
  uint64_t orderHead_ = 0, orderCount_ = 0;
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  uint8_t* slots_ = nullptr;       // kBudgetWindows slots of kWindowBytes
  uint32_t* freeSlots_ = nullptr;  // a stack of the slots not in a window
  uint32_t freeSlotCount_ = 0;
  uint32_t slotsUsed_ = 0;          // slots [0, slotsUsed_) have held a window's pages
  uint32_t* windowSlot_ = nullptr;  // per window: the slot its pages came from, or kNoSlot
  static constexpr uint64_t kPageTableEntries = 8192;  // read at a time (firstWithContent, fills)
  WrittenRuns programPages_;                           // the program's page table, read ahead
  // The window the last fill() made readable, while it stays filled: most fills are of a
  // block in the window of the block before.
  uint64_t readyBegin_ = 0, readyEnd_ = 0;
};

}  // namespace tidemark::preload
