// The live-block tables' hash tables (see slot_table.h), for both slot kinds.
#include "slot_table.h"

#include "live_blocks.h"
#include "raw_memory.h"

namespace tidemark::preload {
namespace {

constexpr size_t kInitialSlots = 1024;

// Tables at least this big go on huge pages: lookups by a hashed address touch them at
// random.
constexpr size_t kHugeTableBytes = size_t{4} << 20;

void* mapTable(size_t bytes) {
  return bytes >= kHugeTableBytes ? mapHugePages(bytes) : mapPages(bytes);
}

}  // namespace

template <typename Slot>
bool SlotTable<Slot>::grow() {
  size_t oldCapacity = slots_ ? mask_ + 1 : 0;
  size_t capacity = oldCapacity ? oldCapacity * 2 : kInitialSlots;
  auto* slots = static_cast<Slot*>(mapTable(capacity * sizeof(Slot)));
  if (!slots) return false;
  // A table's new pages are taken at once, written: hashed addresses land on every page
  // long before it is full, so a fault each is saved, and no lookup reads a page first and
  // maps the zero page there, whose replacement by the write after it would interrupt
  // every other core running the program to flush its TLB (written_pages.h). A big table
  // takes its old pages along and rehashes where they lie: only the new half is zeroed,
  // and old and new are never both resident.
  size_t oldBytes = oldCapacity * sizeof(Slot);
  Slot* old = slots_;
  slots_ = slots;
  mask_ = capacity - 1;
  if (oldBytes >= kHugeTableBytes && movePages(old, slots, oldBytes)) {
    takePagesNow(slots + oldCapacity, oldBytes);
    rehashInPlace(oldCapacity);
  } else {
    takePagesNow(slots, capacity * sizeof(Slot));
    for (size_t i = 0; i < oldCapacity; ++i) {
      if (!old[i].address()) continue;
      size_t at = slotOf(old[i].address());
      while (slots[at].address()) at = (at + 1) & mask_;
      slots[at] = old[i];
    }
    if (old) unmapPages(old, oldBytes);
  }
  return true;
}

// The entries of [0, oldCapacity) rehashed into the whole table, where they lie. Each is
// marked unplaced, then placed in turn at the first slot from its home that holds no
// placed entry, swapping with the unplaced entry found there (which is placed next). The
// slots between a placed entry's home and its place are all placed, and placed entries
// never move again, so every probe run stays whole: no lookup misses afterwards.
template <typename Slot>
void SlotTable<Slot>::rehashInPlace(size_t oldCapacity) {
  for (size_t i = 0; i < oldCapacity; ++i) {
    if (slots_[i].address()) slots_[i].setUnplaced(true);
  }
  auto placed = [&](size_t i) { return slots_[i].address() && !slots_[i].unplaced(); };
  for (size_t i = 0; i < oldCapacity; ++i) {
    while (slots_[i].address() && !placed(i)) {
      Slot moving = slots_[i];
      moving.setUnplaced(false);
      size_t at = slotOf(moving.address());
      while (placed(at)) at = (at + 1) & mask_;
      slots_[i] = slots_[at];  // at == i: itself, placed below; else empty or unplaced
      slots_[at] = moving;
    }
  }
}

template <typename Slot>
void SlotTable<Slot>::clear() {
  if (slots_) unmapPages(slots_, (mask_ + 1) * sizeof(Slot));
  slots_ = nullptr;
  mask_ = 0;
  used_ = 0;
}

template class SlotTable<PackedBlock>;
template class SlotTable<WideBlock>;

}  // namespace tidemark::preload
