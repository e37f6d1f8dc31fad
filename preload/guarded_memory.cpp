// The scanning child's windows over the guarded mappings (see guarded_memory.h). Raw
// system calls only, memory from mmap: the child may call nothing that locks.
#include "guarded_memory.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "raw_memory.h"

namespace tidemark::preload {

namespace {

// Moves the pages of [from, from + bytes) to `to`, leaving `from` mapped and empty.
bool movePages(uint64_t from, uint64_t to, uint64_t bytes) {
  long at =
      syscall(SYS_mremap, from, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);
  return at == static_cast<long>(to);
}

}  // namespace

GuardedMemory::GuardedMemory(HeapGuard* guard, LostMemoryFn lost, void* context)
    : guard_(guard), lost_(lost), context_(context) {
  if (!guard_) return;
  // The guarded mappings are holes in this child's address space: anything it mapped
  // before filling them could land in one, and the mapping would then look like one the
  // clone has (EEXIST). So they are mapped first, noted on the stack.
  uint32_t n = guardedMappingCount(*guard_);
  uint64_t mapped[kMaxGuardedMappings / 64] = {}, failed[kMaxGuardedMappings / 64] = {};
  for (uint32_t i = 0; i < n; ++i) {
    const GuardedMapping& m = guardedMapping(*guard_, i);
    if (!m.active) continue;
    if (mapGuardedMapping(m)) {
      mapped[i / 64] |= uint64_t{1} << (i % 64);
    } else if (errno != EEXIST) {  // EEXIST: the clone has it after all (DONTFORK failed)
      failed[i / 64] |= uint64_t{1} << (i % 64);
    }
  }
  held_ = static_cast<uint8_t*>(mapChildMemory(n));
  windowBase_ = static_cast<uint64_t*>(mapChildMemory((n + 1) * sizeof(uint64_t)));
  for (uint32_t i = 0; i < n; ++i) {
    const GuardedMapping& m = guardedMapping(*guard_, i);
    windowBase_[i] = windows_;
    if (mapped[i / 64] >> (i % 64) & 1) {
      held_[i] = 1;
      windows_ += (m.range.end - m.range.begin + kWindowBytes - 1) / kWindowBytes;
    } else if (failed[i / 64] >> (i % 64) & 1) {
      lost_(context_, m.range.begin, m.range.end);
    }
  }
  windowBase_[n] = windows_;
  filled_ = static_cast<uint8_t*>(mapChildMemory(windows_));
  filledOrder_ = static_cast<uint64_t*>(mapChildMemory(windows_ * sizeof(uint64_t)));
  windowSlot_ = static_cast<uint32_t*>(mapChildMemory(windows_ * sizeof(uint32_t)));
  slots_ = static_cast<uint8_t*>(mapChildMemory(kBudgetWindows * kWindowBytes));
  freeSlots_ = static_cast<uint32_t*>(mapChildMemory(kBudgetWindows * sizeof(uint32_t)));
  programPages_ = programPageRuns(
      *guard_, static_cast<uint64_t*>(mapChildMemory(kPageTableEntries * sizeof(uint64_t))),
      kPageTableEntries);
}

int64_t GuardedMemory::heldAt(uint64_t address) const {
  int64_t i = guardedMappingAt(*guard_, address);
  return i >= 0 && held_[i] ? i : -1;
}

uint64_t GuardedMemory::windowOf(uint32_t mapping, uint64_t address) const {
  return windowBase_[mapping] +
         (address - guardedMapping(*guard_, mapping).range.begin) / kWindowBytes;
}

uint32_t GuardedMemory::mappingOfWindow(uint64_t window) const {
  const uint64_t* base =
      std::upper_bound(windowBase_, windowBase_ + guardedMappingCount(*guard_), window) - 1;
  return static_cast<uint32_t>(base - windowBase_);
}

void GuardedMemory::windowRange(uint64_t window, uint64_t* begin, uint64_t* end) const {
  uint32_t i = mappingOfWindow(window);
  const GuardedMapping& m = guardedMapping(*guard_, i);
  *begin = m.range.begin + (window - windowBase_[i]) * kWindowBytes;
  *end = std::min(*begin + kWindowBytes, m.range.end);
}

void GuardedMemory::fillWindow(uint32_t mapping, uint64_t window) {
  uint64_t begin, end;
  windowRange(window, &begin, &end);
  // Pages from a slot a window gave back, when there is one; fresh ones until then. Not
  // for a sparse mapping's window: it has few pages, and moving a slot's 2 MiB in and out
  // cost more than they do (60 us a window, 16,384 windows of one page each).
  const GuardedMapping& m = guardedMapping(*guard_, mapping);
  windowSlot_[window] = kNoSlot;
  if (freeSlotCount_ > 0 && !m.sparse) {
    uint32_t slot = freeSlots_[freeSlotCount_ - 1];
    if (movePages(reinterpret_cast<uint64_t>(slots_) + slot * kWindowBytes, begin, end - begin)) {
      windowSlot_[window] = slot;
      --freeSlotCount_;
    }
  }
  readAtStop(*guard_, m, begin, end, windowSlot_[window] != kNoSlot, programPages_, lost_,
             context_);
  filled_[window] = 1;
  filledOrder_[(orderHead_ + orderCount_++) % windows_] = window;
}

void GuardedMemory::letGo(uint64_t window) {
  uint64_t begin, end;
  windowRange(window, &begin, &end);
  // Its pages go to its slot, or to one never used (a block bigger than the budget keeps
  // more windows than there are slots: the rest is given back to the kernel).
  uint32_t slot = windowSlot_[window];
  bool sparse = guardedMapping(*guard_, mappingOfWindow(window)).sparse;
  if (slot == kNoSlot && slotsUsed_ < kBudgetWindows && !sparse) slot = slotsUsed_++;
  if (slot != kNoSlot) {
    if (!movePages(begin, reinterpret_cast<uint64_t>(slots_) + slot * kWindowBytes, end - begin)) {
      syscall(SYS_madvise, begin, end - begin, MADV_DONTNEED);
    }
    freeSlots_[freeSlotCount_++] = slot;
  } else {
    syscall(SYS_madvise, begin, end - begin, MADV_DONTNEED);
  }
  filled_[window] = 0;
  if (begin < readyEnd_ && end > readyBegin_) readyBegin_ = readyEnd_ = 0;
}

void GuardedMemory::fill(uint64_t begin, uint64_t end) {
  if (begin >= readyBegin_ && end <= readyEnd_) return;
  int64_t held = guard_ && begin < end ? heldAt(begin) : -1;
  if (held < 0) return;
  auto i = static_cast<uint32_t>(held);
  uint64_t from = windowOf(i, begin);
  uint64_t to = windowOf(i, std::min(end, guardedMapping(*guard_, i).range.end) - 1);
  for (uint64_t w = from; w <= to; ++w) {
    if (filled_[w]) continue;
    // Room first, from the oldest windows, but never one this range needs.
    while (orderCount_ >= kBudgetWindows) {
      uint64_t oldest = filledOrder_[orderHead_];
      if (oldest >= from && oldest <= to) break;
      orderHead_ = (orderHead_ + 1) % windows_;
      --orderCount_;
      letGo(oldest);
    }
    fillWindow(i, w);
  }
  if (from == to) windowRange(from, &readyBegin_, &readyEnd_);
}

uint64_t GuardedMemory::windowEnd(uint64_t address) const {
  int64_t i = guard_ ? heldAt(address) : -1;
  if (i < 0) return UINT64_MAX;
  uint64_t begin, end;
  windowRange(windowOf(static_cast<uint32_t>(i), address), &begin, &end);
  return end;
}

uint64_t GuardedMemory::firstWithContent(uint64_t from, uint64_t end) {
  int64_t i = guard_ ? heldAt(from) : -1;
  if (i < 0) return from;
  const GuardedMapping& m = guardedMapping(*guard_, static_cast<uint32_t>(i));
  return firstPageWithContent(*guard_, m, from, std::min(end, m.range.end), programPages_);
}

bool GuardedMemory::read(uint64_t address, void* out, size_t bytes) const {
  int64_t i = guard_ ? heldAt(address) : -1;
  if (i < 0 || filled_[windowOf(static_cast<uint32_t>(i), address)]) {
    memcpy(out, reinterpret_cast<const void*>(address), bytes);
    return true;
  }
  return peekAtStop(*guard_, guardedMapping(*guard_, static_cast<uint32_t>(i)), address, out,
                    bytes);
}

void GuardedMemory::finish() {
  if (guard_) finishReading(*guard_, lost_, context_);
}

}  // namespace tidemark::preload
