// A least-significant-digit radix sort (see block_sort.h).
#include "block_sort.h"

#include <algorithm>

namespace tidemark::preload {

LiveBlock* sortByAddress(LiveBlock* blocks, uint64_t n, LiveBlock* scratch, uint64_t* counts) {
  uint64_t low = UINT64_MAX, high = 0, differing = 0;
  for (uint64_t i = 0; i < n; ++i) {
    low = std::min(low, blocks[i].address);
    high = std::max(high, blocks[i].address);
    differing |= blocks[i].address ^ blocks[0].address;
  }
  if (!differing) return blocks;
  // Bits below the lowest that differs are the same in all (glibc's blocks: 4 of them).
  unsigned lowBit = static_cast<unsigned>(__builtin_ctzll(differing));
  unsigned bits = 64 - static_cast<unsigned>(__builtin_clzll((high - low) >> lowBit));
  unsigned passes = (bits + kMaxDigitBits - 1) / kMaxDigitBits;
  unsigned digitBits = (bits + passes - 1) / passes;
  uint64_t digitMask = (uint64_t{1} << digitBits) - 1;
  std::fill(counts, counts + passes * kMaxDigits, 0);  // per pass, per digit
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t key = (blocks[i].address - low) >> lowBit;
    for (unsigned p = 0; p < passes; ++p)
      ++counts[p * kMaxDigits + ((key >> (p * digitBits)) & digitMask)];
  }
  LiveBlock* from = blocks;
  LiveBlock* to = scratch;
  for (unsigned p = 0; p < passes; ++p) {
    uint64_t* next = counts + p * kMaxDigits;  // from counts to where each digit's next goes
    for (uint64_t d = 0, sum = 0; d <= digitMask; ++d) {
      uint64_t count = next[d];
      next[d] = sum;
      sum += count;
    }
    unsigned shift = lowBit + p * digitBits;
    for (uint64_t i = 0; i < n; ++i)
      to[next[((from[i].address - low) >> shift) & digitMask]++] = from[i];
    std::swap(from, to);
  }
  return from;
}

}  // namespace tidemark::preload
