// Per-thread live-block tables (see live_blocks.h): a short list of recent blocks in
// front of a hash table with open addressing, linear probing, backward-shift deletion,
// doubling at two thirds full.
#include "live_blocks.h"

#include <sched.h>

#include "raw_memory.h"

namespace tidemark::preload {
namespace {

constexpr size_t kInitialSlots = 1024;

class TableLock {
 public:
  explicit TableLock(std::atomic<uint32_t>& word) : word_(word) {
    for (unsigned spins = 0;; ++spins) {
      if (word_.load(std::memory_order_relaxed) == 0 &&
          word_.exchange(1, std::memory_order_acquire) == 0) {
        return;
      }
      if (spins > 100) sched_yield();  // the holder was preempted
    }
  }
  ~TableLock() { word_.store(0, std::memory_order_release); }

 private:
  std::atomic<uint32_t>& word_;
};

size_t slotOf(uint64_t address, size_t mask) {
  uint64_t h = address * 0x9e3779b97f4a7c15ull;
  return (h ^ (h >> 29)) & mask;
}

// Tables at least this big go on huge pages: lookups by a hashed address touch them at
// random.
constexpr size_t kHugeTableBytes = size_t{4} << 20;

LiveBlock* mapTable(size_t bytes) {
  void* table = bytes >= kHugeTableBytes ? mapHugePages(bytes) : mapPages(bytes);
  return static_cast<LiveBlock*>(table);
}

// Marks an entry not yet at its place in a doubled table: no live block is 2^63 bytes.
constexpr uint64_t kUnplaced = uint64_t{1} << 63;

// The entries of [0, oldCapacity) rehashed into the whole table, where they lie. Each is
// marked unplaced, then placed in turn at the first slot from its home that holds no
// placed entry, swapping with the unplaced entry found there (which is placed next). The
// slots between a placed entry's home and its place are all placed, and placed entries
// never move again, so every probe run stays whole: no lookup misses afterwards.
void rehashInPlace(LiveBlock* slots, size_t oldCapacity, size_t mask) {
  for (size_t i = 0; i < oldCapacity; ++i) {
    if (slots[i].address) slots[i].size |= kUnplaced;
  }
  auto placed = [&](size_t i) { return slots[i].address && !(slots[i].size & kUnplaced); };
  for (size_t i = 0; i < oldCapacity; ++i) {
    while (slots[i].address && !placed(i)) {
      LiveBlock moving = slots[i];
      moving.size &= ~kUnplaced;
      size_t at = slotOf(moving.address, mask);
      while (placed(at)) at = (at + 1) & mask;
      slots[i] = slots[at];  // at == i: itself, placed below; else empty or unplaced
      slots[at] = moving;
    }
  }
}

}  // namespace

bool BlockTable::grow() {
  size_t oldCapacity = slots_ ? mask_ + 1 : 0;
  size_t capacity = oldCapacity ? oldCapacity * 2 : kInitialSlots;
  LiveBlock* slots = mapTable(capacity * sizeof(LiveBlock));
  if (!slots) return false;
  // A table's new pages are taken at once, written: hashed addresses land on every page
  // long before it is full, so a fault each is saved, and no lookup reads a page first and
  // maps the zero page there, whose replacement by the write after it would interrupt
  // every other core running the program to flush its TLB (written_pages.h). A big table
  // takes its old pages along and rehashes where they lie: only the new half is zeroed,
  // and old and new are never both resident (a table of 8M blocks is 384 MiB).
  size_t oldBytes = oldCapacity * sizeof(LiveBlock);
  if (oldBytes >= kHugeTableBytes && movePages(slots_, slots, oldBytes)) {
    takePagesNow(slots + oldCapacity, oldBytes);
    rehashInPlace(slots, oldCapacity, capacity - 1);
  } else {
    takePagesNow(slots, capacity * sizeof(LiveBlock));
    for (size_t i = 0; i < oldCapacity; ++i) {
      const LiveBlock& b = slots_[i];
      if (!b.address) continue;
      size_t at = slotOf(b.address, capacity - 1);
      while (slots[at].address) at = (at + 1) & (capacity - 1);
      slots[at] = b;
    }
    if (slots_) unmapPages(slots_, oldBytes);
  }
  slots_ = slots;
  mask_ = capacity - 1;
  return true;
}

void BlockTable::prefetch(uint64_t address) const {
  if (slots_) __builtin_prefetch(&slots_[slotOf(address, mask_)]);
}

void BlockTable::place(const LiveBlock& block) {
  size_t at = slotOf(block.address, mask_);
  while (slots_[at].address && slots_[at].address != block.address) at = (at + 1) & mask_;
  if (!slots_[at].address) ++used_;
  slots_[at] = block;  // an address seen live again replaces its old entry
}

void BlockTable::flushRecent() {
  if ((!slots_ || (used_ + recentCount_) * 3 > (mask_ + 1) * 2) && !grow()) {
    recentCount_ = 0;  // out of memory: these blocks go unseen, as they would have before
    return;
  }
  for (uint32_t i = 0; i < recentCount_; ++i) {
    __builtin_prefetch(&slots_[slotOf(recent_[i].address, mask_)], 1);
  }
  for (uint32_t i = 0; i < recentCount_; ++i) place(recent_[i]);
  recentCount_ = 0;
}

void BlockTable::insert(const LiveBlock& block) {
  TableLock lock(lock_);
  for (uint32_t i = 0; i < recentCount_; ++i) {
    if (recent_[i].address == block.address) {
      recent_[i] = block;  // seen live again: replaces its old entry
      return;
    }
  }
  if (recentCount_ == kRecent) flushRecent();
  recent_[recentCount_++] = block;
}

bool BlockTable::erase(uint64_t address, LiveBlock* erased) {
  if (!slots_ && recentCount_ == 0) return false;  // a table never used: no lock needed
  TableLock lock(lock_);
  for (uint32_t i = 0; i < recentCount_; ++i) {
    if (recent_[i].address == address) {
      *erased = recent_[i];
      recent_[i] = recent_[--recentCount_];
      return true;
    }
  }
  return slots_ && eraseFromTable(address, erased);
}

bool BlockTable::eraseFromTable(uint64_t address, LiveBlock* erased) {
  size_t at = slotOf(address, mask_);
  while (slots_[at].address != address) {
    if (!slots_[at].address) return false;
    at = (at + 1) & mask_;
  }
  *erased = slots_[at];
  // Backward-shift deletion keeps probe chains whole without tombstones.
  size_t hole = at;
  for (size_t next = (hole + 1) & mask_; slots_[next].address; next = (next + 1) & mask_) {
    size_t home = slotOf(slots_[next].address, mask_);
    // `next` stays unless its home lies cyclically outside (hole, next].
    bool stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
    if (stays) continue;
    slots_[hole] = slots_[next];
    hole = next;
  }
  slots_[hole].address = 0;
  --used_;
  return true;
}

void BlockTable::clear() {
  if (slots_) unmapPages(slots_, (mask_ + 1) * sizeof(LiveBlock));
  slots_ = nullptr;
  mask_ = 0;
  used_ = 0;
  recentCount_ = 0;
  lock_.store(0, std::memory_order_relaxed);
}

}  // namespace tidemark::preload
