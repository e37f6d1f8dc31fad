// The scanning child's sort of live blocks by address, against std::stable_sort.
#include "../../preload/block_sort.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <vector>

using tidemark::preload::kBlockSortCountWords;
using tidemark::preload::LiveBlock;
using tidemark::preload::sortByAddress;

namespace {

// Sorts `blocks` both ways; the stack field numbers the blocks, so that the order of
// blocks at one address (which the dedupe after it does not rely on) is checked too.
void checkSorts(std::vector<LiveBlock> blocks) {
  for (size_t i = 0; i < blocks.size(); ++i) blocks[i].stack = static_cast<uint32_t>(i);
  std::vector<LiveBlock> expected = blocks;
  std::stable_sort(expected.begin(), expected.end(),
                   [](const LiveBlock& a, const LiveBlock& b) { return a.address < b.address; });
  std::vector<LiveBlock> scratch(blocks.size());
  std::vector<uint64_t> counts(kBlockSortCountWords, 7);  // not zeroed by the caller
  LiveBlock* sorted = sortByAddress(blocks.data(), blocks.size(), scratch.data(), counts.data());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("block " << i << " of " << expected.size());
    REQUIRE(sorted[i].address == expected[i].address);
    REQUIRE(sorted[i].stack == expected[i].stack);
    REQUIRE(sorted[i].size == expected[i].size);
  }
}

std::vector<LiveBlock> randomBlocks(size_t n, uint64_t base, uint64_t span, uint64_t align,
                                    std::mt19937_64& random) {
  std::vector<LiveBlock> blocks(n);
  for (auto& b : blocks) {
    b.address = base + random() % (span / align) * align;
    b.size = b.address % 977;
  }
  return blocks;
}

}  // namespace

TEST_CASE("the child's block sort orders blocks as std::stable_sort does", "[block_sort]") {
  std::mt19937_64 random(42);
  SECTION("none, one, and blocks all at one address") {
    checkSorts({});
    checkSorts({{0x1000, 16, 0, 0}});
    checkSorts(std::vector<LiveBlock>(50, LiveBlock{0x5555'0000'1230, 32, 0, 0}));
  }
  SECTION("a heap of 16-byte aligned blocks, with addresses that repeat") {
    checkSorts(randomBlocks(100'000, 0x5555'5555'0000, 512 << 20, 16, random));
    checkSorts(randomBlocks(100'000, 0x5555'5555'0000, 4096, 16, random));
  }
  SECTION("the main heap with thread arenas and mapped blocks, terabytes apart") {
    auto blocks = randomBlocks(60'000, 0x5555'5555'0000, 64 << 20, 16, random);
    auto arenas = randomBlocks(30'000, 0x7f00'0000'0000, uint64_t{1} << 36, 16, random);
    auto mapped = randomBlocks(1'000, 0x7ff0'0000'0010, uint64_t{1} << 30, 4096, random);
    blocks.insert(blocks.end(), arenas.begin(), arenas.end());
    blocks.insert(blocks.end(), mapped.begin(), mapped.end());
    std::shuffle(blocks.begin(), blocks.end(), random);
    checkSorts(blocks);
  }
  SECTION("addresses differing in any bit, down to the lowest") {
    checkSorts(randomBlocks(20'000, 1, UINT64_MAX - 1, 1, random));
    checkSorts(randomBlocks(20'000, 0x1000, 1 << 13, 8, random));  // 10 bits: one pass
  }
}
