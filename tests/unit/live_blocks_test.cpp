// The tracer's live-block table against std::unordered_map under random operations, and
// what a snapshot reads of it.
#include "../../preload/live_blocks.h"

#include <catch2/catch.hpp>
#include <random>
#include <unordered_map>

using tidemark::preload::BlockTable;
using tidemark::preload::LiveBlock;

TEST_CASE("live-block table: inserts, replaces and erases as std::unordered_map does") {
  BlockTable table;
  std::unordered_map<uint64_t, LiveBlock> reference;
  std::mt19937_64 random(11);
  // Addresses 16 bytes apart like heap blocks, few enough to fill the table past two
  // thirds (it grows) and to erase much: long probe runs, many backward shifts.
  auto address = [&] { return 0x7f0000000000ull + (random() % 30'000) * 16; };
  for (uint32_t step = 1; step <= 300'000; ++step) {
    uint64_t at = address();
    if (random() % 3 != 0) {
      LiveBlock block{at, random() % 4096 + 1, step, step / 10};
      table.insert(block);
      reference[at] = block;
    } else {
      REQUIRE(table.erase(at) == (reference.erase(at) == 1));
    }
    REQUIRE(table.count() == reference.size());
  }
  size_t seen = 0;
  table.forEach([&](const LiveBlock& b) {
    ++seen;
    auto expected = reference.find(b.address);
    REQUIRE(expected != reference.end());
    CHECK(b.size == expected->second.size);
    CHECK(b.stack == expected->second.stack);
    CHECK(b.allocTimeMs == expected->second.allocTimeMs);
  });
  CHECK(seen == reference.size());
  table.clear();
  CHECK(table.count() == 0);
  CHECK_FALSE(table.erase(reference.begin()->first));
}
