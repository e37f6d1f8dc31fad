// A map from addresses (never 0) to small values: open addressing with linear probing
// and backward-shift deletion, in one array. The replay's hottest structure — one insert
// and one erase per allocation — where std::unordered_map spent its time allocating
// nodes and chasing pointers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace tidemark::analysis {

template <typename Value>
class AddressMap {
 public:
  AddressMap() { slots_.resize(kInitialSlots); }

  Value* find(uint64_t key) {
    for (size_t i = home(key);; i = (i + 1) & mask()) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == 0) return nullptr;
    }
  }

  // Inserts when `key` is absent; returns the value held and whether it was inserted.
  std::pair<Value*, bool> tryEmplace(uint64_t key, const Value& value) {
    if ((count_ + 1) * 4 > slots_.size() * 3) grow();
    size_t i = home(key);
    for (; slots_[i].key != 0; i = (i + 1) & mask()) {
      if (slots_[i].key == key) return {&slots_[i].value, false};
    }
    slots_[i] = {key, value};
    ++count_;
    return {&slots_[i].value, true};
  }

  // Removes `key` and hands back its value (one probe where find + erase took two);
  // later entries of its probe run move back so lookups stay short.
  std::optional<Value> take(uint64_t key) {
    size_t i = home(key);
    for (; slots_[i].key != key; i = (i + 1) & mask()) {
      if (slots_[i].key == 0) return std::nullopt;
    }
    Value taken = slots_[i].value;
    for (size_t next = (i + 1) & mask(); slots_[next].key != 0; next = (next + 1) & mask()) {
      size_t wanted = home(slots_[next].key);
      // Move `next` into the hole at i unless its home lies cyclically in (i, next].
      bool between = i <= next ? (i < wanted && wanted <= next) : (i < wanted || wanted <= next);
      if (!between) {
        slots_[i] = slots_[next];
        i = next;
      }
    }
    slots_[i].key = 0;
    --count_;
    return taken;
  }

  // Starts loading the slot where a lookup of `key` begins. (GCC 12 removed a
  // __builtin_prefetch here as dead code; an asm statement it must keep.)
  void prefetch(uint64_t key) const {
    const Slot* slot = &slots_[home(key)];
#if defined(__x86_64__)
    asm volatile("prefetcht0 %0" : : "m"(*slot));
#else
    __builtin_prefetch(slot);
#endif
  }

  size_t size() const { return count_; }

 private:
  static constexpr size_t kInitialSlots = 1024;
  struct Slot {
    uint64_t key = 0;
    Value value{};
  };

  size_t mask() const { return slots_.size() - 1; }
  size_t home(uint64_t key) const {
    return static_cast<size_t>((key * 0x9e3779b97f4a7c15ull) >> 20) & mask();
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    count_ = 0;
    for (const Slot& s : old) {
      if (s.key != 0) tryEmplace(s.key, s.value);
    }
  }

  std::vector<Slot> slots_;
  size_t count_ = 0;
};

}  // namespace tidemark::analysis
