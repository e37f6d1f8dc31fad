// Open-addressing hash table of stacks with CAS insertion (see stack_table.h).
#include "stack_table.h"

#include <sched.h>

#include <cstring>

#include "raw_memory.h"

namespace tidemark::preload {
namespace {

uint64_t hashStack(const uintptr_t* ips, uint32_t depth) {
  // Four independent lanes: the multiplies of one lane do not wait for another's, which
  // makes this about four times faster than one chain over a 25-frame stack.
  constexpr uint64_t kMul = 0xff51afd7ed558ccdull;
  uint64_t a = 0x9e3779b97f4a7c15ull ^ depth, b = 0xc2b2ae3d27d4eb4full;
  uint64_t c = 0x165667b19e3779f9ull, d = 0x27d4eb2f165667c5ull;
  uint32_t i = 0;
  for (; i + 4 <= depth; i += 4) {
    a = (a ^ ips[i]) * kMul;
    b = (b ^ ips[i + 1]) * kMul;
    c = (c ^ ips[i + 2]) * kMul;
    d = (d ^ ips[i + 3]) * kMul;
  }
  for (; i < depth; ++i) a = (a ^ ips[i]) * kMul;
  uint64_t h = a ^ (b >> 17) ^ (c << 13) ^ (d >> 29);
  h ^= h >> 32;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return h | 1;  // never 0, which marks an empty slot
}

}  // namespace

bool StackTable::init() {
  slots_ = static_cast<Slot*>(mapPages(kSlots * sizeof(Slot)));
  ips_ = static_cast<uintptr_t*>(mapPages(kIpCapacity * sizeof(uintptr_t)));
  slotOfId_ = static_cast<uint32_t*>(mapPages((kSlots + 1) * sizeof(uint32_t)));
  return slots_ && ips_ && slotOfId_;
}

void StackTable::afterFork() {
  if (unpublished_.load(std::memory_order_relaxed) == 0 || !slots_) return;
  // A thread that no longer exists claimed these slots and never published an id: left
  // as they are, every lookup of their stacks would wait for it.
  for (size_t i = 0; i < kSlots; ++i) {
    uint64_t hash = slots_[i].hash.load(std::memory_order_relaxed);
    if (hash != 0 && hash != kMovedOn && slots_[i].id.load(std::memory_order_relaxed) == 0) {
      slots_[i].id.store(kBrokenSlot, std::memory_order_relaxed);
    }
  }
  unpublished_.store(0, std::memory_order_relaxed);
}

uint32_t StackTable::insert(Slot& slot, size_t index, const uintptr_t* ips, uint32_t depth) {
  uint64_t offset = ipsUsed_.fetch_add(depth, std::memory_order_relaxed);
  if (offset + depth > kIpCapacity) {
    slot.id.store(kBrokenSlot, std::memory_order_release);  // readers pass over it
    return kUnknownStack;
  }
  memcpy(ips_ + offset, ips, depth * sizeof(uintptr_t));
  slot.depth = depth;
  slot.offset = offset;
  uint32_t id = nextId_.fetch_add(1, std::memory_order_relaxed);
  if (id <= kSlots) slotOfId_[id] = static_cast<uint32_t>(index);
  slot.id.store(id, std::memory_order_release);
  return id;
}

uint32_t StackTable::intern(const uintptr_t* ips, uint32_t depth, bool* isNew) {
  *isNew = false;
  if (!slots_) return kUnknownStack;
  uint64_t hash = hashStack(ips, depth);
  for (unsigned generation = 0; generation < kGenerations; ++generation) {
    size_t mask = stack_slots::slotsOf(generation) - 1;
    size_t at = hash & mask;
    for (unsigned probe = 0; probe < kMaxProbes; ++probe, at = (at + 1) & mask) {
      size_t index = stack_slots::firstSlotOf(generation) + at;
      Slot& slot = slots_[index];
      // A page no insert wrote holds no hash; should one be there by now, the claim fails
      // and reads it.
      size_t slotOffset = index * sizeof(Slot);
      uint64_t seen =
          writtenSlots_.mayHold(slotOffset) ? slot.hash.load(std::memory_order_acquire) : 0;
      if (seen == 0) {
        bool full = claimed_[generation].load(std::memory_order_relaxed) >= (mask + 1) / 2;
        if (slot.hash.compare_exchange_strong(seen, full ? kMovedOn : hash,
                                              std::memory_order_acq_rel)) {
          writtenSlots_.note(slotOffset);
          if (full) break;
          claimed_[generation].fetch_add(1, std::memory_order_relaxed);
          unpublished_.fetch_add(1, std::memory_order_relaxed);
          uint32_t id = insert(slot, index, ips, depth);
          unpublished_.fetch_sub(1, std::memory_order_relaxed);
          *isNew = id != kUnknownStack;
          return id;
        }
        // Lost the race: `seen` now holds what the winner put there; go by it below.
      }
      if (seen == kMovedOn) break;
      if (seen != hash) continue;
      uint32_t id;
      for (unsigned spins = 0; (id = slot.id.load(std::memory_order_acquire)) == 0; ++spins) {
        if (spins > 64) sched_yield();  // the inserting thread is between CAS and publish
        if (spins > 100000) return kUnknownStack;
      }
      if (id != kBrokenSlot && slot.depth == depth &&
          memcmp(ips_ + slot.offset, ips, depth * sizeof(uintptr_t)) == 0) {
        return id;
      }
    }
  }
  return kUnknownStack;
}

}  // namespace tidemark::preload
