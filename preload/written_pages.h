// Which pages of a table in lazily touched memory some insert has written. A lookup that
// reads a page no one wrote maps the kernel's shared zero page there; an insert's write
// after it replaces that mapping, and the kernel interrupts every other core running the
// program to flush its TLB (alloc_bench: 1,700 such interrupts per run from the stack
// table alone, a tenth of its CPU). A table asks here first: a slot on a page no insert
// wrote is empty without reading it. Only a hint: a page noted a moment late is read
// as empty once more, which the inserts' compare-and-swap tolerates.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "raw_memory.h"

namespace tidemark::preload {

template <size_t kTableBytes>
class WrittenPages {
 public:
  // `offset`: of the slot's first byte in the table, which must start on a page.
  bool mayHold(size_t offset) const {
    size_t page = offset / kPageBytes;
    return (words_[page / 64].load(std::memory_order_relaxed) >> (page % 64)) & 1;
  }
  void note(size_t offset) {
    size_t page = offset / kPageBytes;
    uint64_t bit = uint64_t{1} << (page % 64);
    if (!(words_[page / 64].load(std::memory_order_relaxed) & bit)) {
      words_[page / 64].fetch_or(bit, std::memory_order_relaxed);
    }
  }

 private:
  static constexpr size_t kPages = (kTableBytes + kPageBytes - 1) / kPageBytes;
  std::atomic<uint64_t> words_[(kPages + 63) / 64] = {};
};

}  // namespace tidemark::preload
