// The scanning child's copy of the live blocks, sorted by address for its index
// (heap_scan.cpp). std::sort took 0.6 s of the 1.5 s scan of 8.4M blocks.
#pragma once

#include <cstdint>

#include "live_blocks.h"

namespace tidemark::preload {

// Digits of at most 11 bits: 2,048 buckets, as many places the scatter writes at once.
inline constexpr unsigned kMaxDigitBits = 11;
inline constexpr uint64_t kMaxDigits = uint64_t{1} << kMaxDigitBits;
inline constexpr unsigned kMaxPasses = (64 + kMaxDigitBits - 1) / kMaxDigitBits;
// The room for counts sortByAddress needs (12,288 words, 96 KiB: more than the child's
// small stack should hold, and it must not call malloc).
inline constexpr uint64_t kBlockSortCountWords = kMaxPasses * kMaxDigits;

// Sorts blocks by address with a stable counting sort per digit, back and forth between
// `blocks` and `scratch` (room for n); returns the one sorted. Only the bits in which
// the addresses differ are sorted on (glibc's blocks share their low 4), in as few passes
// as they need, of digits of equal width; one pass over the blocks counts every digit.
// `counts`: room for kBlockSortCountWords.
LiveBlock* sortByAddress(LiveBlock* blocks, uint64_t n, LiveBlock* scratch, uint64_t* counts);

}  // namespace tidemark::preload
