// The mapping change log (see mapping_changes.h).
#include "mapping_changes.h"

#include <atomic>

#include "raw_memory.h"

namespace tidemark::preload {

namespace {

// A slot holds change number `sequence - 1`; 0 while it is being written.
struct Slot {
  std::atomic<uint64_t> sequence{0};
  MappingChangeRecord record{};
};
constexpr uint64_t kSlots = kMappingChangeSlots;
constinit Slot slots[kSlots];
std::atomic<uint64_t> noted{0};
std::atomic<uint64_t> dontForkNoted{0};

}  // namespace

void noteMappingChange(MappingChange change, uint64_t address, uint64_t length) {
  if (address % kPageBytes != 0) return;
  if (change == MappingChange::DontFork) dontForkNoted.fetch_add(1, std::memory_order_acq_rel);
  uint64_t index = noted.fetch_add(1, std::memory_order_acq_rel);
  Slot& slot = slots[index % kSlots];
  slot.sequence.store(0, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  slot.record = {change, address, address + wholePages(length)};
  slot.sequence.store(index + 1, std::memory_order_release);
}

uint64_t mappingChangesNoted() { return noted.load(std::memory_order_acquire); }

uint64_t dontForkChangesNoted() { return dontForkNoted.load(std::memory_order_acquire); }

bool mappingChange(uint64_t index, MappingChangeRecord* out) {
  const Slot& slot = slots[index % kSlots];
  if (slot.sequence.load(std::memory_order_acquire) != index + 1) return false;
  *out = slot.record;
  return slot.sequence.load(std::memory_order_acquire) == index + 1;
}

}  // namespace tidemark::preload
