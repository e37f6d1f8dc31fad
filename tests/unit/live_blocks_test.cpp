// The tracer's live-block table against std::unordered_map under random operations, and
// what a snapshot reads of it.
#include "../../preload/live_blocks.h"

#include <catch2/catch.hpp>
#include <random>
#include <unordered_map>

using tidemark::preload::BlockTable;
using tidemark::preload::LiveBlock;

namespace {

// What a snapshot reads of the table: each block of `reference` once, as inserted.
void checkVisitsAsIn(const BlockTable& table,
                     const std::unordered_map<uint64_t, LiveBlock>& reference) {
  size_t seen = 0;
  table.forEach([&](const LiveBlock& b) {
    ++seen;
    auto expected = reference.find(b.address);
    REQUIRE(expected != reference.end());
    REQUIRE(b.size == expected->second.size);
    REQUIRE(b.stack == expected->second.stack);
    REQUIRE(b.allocTimeMs == expected->second.allocTimeMs);
  });
  CHECK(seen == reference.size());
}

}  // namespace

TEST_CASE("live-block table: inserts, replaces and erases as std::unordered_map does") {
  BlockTable table;
  std::unordered_map<uint64_t, LiveBlock> reference;
  std::mt19937_64 random(11);
  // Addresses 16 bytes apart like heap blocks, few enough to fill the table past two
  // thirds (it grows) and to erase much: long probe runs, many backward shifts.
  auto address = [&] { return 0x7f0000000000ull + (random() % 30'000) * 16; };
  LiveBlock erased;
  for (uint32_t step = 1; step <= 300'000; ++step) {
    uint64_t at = address();
    if (random() % 3 != 0) {
      // A live address is freed before it is handed out again, as the hooks see it.
      if (reference.count(at)) REQUIRE(table.erase(at, &erased));
      LiveBlock block{at, random() % 4096 + 1, step, step / 10};
      table.insert(block);
      reference[at] = block;
    } else {
      auto expected = reference.find(at);
      REQUIRE(table.erase(at, &erased) == (expected != reference.end()));
      if (expected == reference.end()) continue;
      // The erased entry goes into the trace: a free of another thread's block says which.
      REQUIRE(erased.size == expected->second.size);
      REQUIRE(erased.stack == expected->second.stack);
      reference.erase(expected);
    }
    REQUIRE(table.count() == reference.size());
  }
  checkVisitsAsIn(table, reference);
  table.clear();
  CHECK(table.count() == 0);
  CHECK_FALSE(table.erase(reference.begin()->first, &erased));
}

TEST_CASE("live-block table: an address inserted again without its free, newest wins") {
  // A free the hooks did not see: the old entry may still be visited, but the newer
  // allocation (a later time) is there too, and a snapshot keeps that one.
  BlockTable table;
  for (uint32_t i = 0; i < 100; ++i) table.insert(LiveBlock{0x1000 + i * 16, 16, 1, 5});
  table.insert(LiveBlock{0x1000, 48, 2, 9});
  uint32_t newest = 0;
  uint64_t sizeOfNewest = 0;
  table.forEach([&](const LiveBlock& b) {
    if (b.address == 0x1000 && b.allocTimeMs >= newest) {
      newest = b.allocTimeMs;
      sizeOfNewest = b.size;
    }
  });
  CHECK(newest == 9);
  CHECK(sizeOfNewest == 48);
  for (uint32_t i = 0; i < 100; ++i) table.insert(LiveBlock{0x9000 + i * 16, 16, 1, 10});
  size_t visits = 0;  // once the recent list went into the table: one entry again
  table.forEach([&](const LiveBlock& b) { visits += b.address == 0x1000; });
  CHECK(visits == 1);
}

TEST_CASE("live-block table: a big table grows where it lies and loses nothing") {
  // 600,000 live blocks: the table passes 2^18 slots (6 MiB, on huge pages) and doubles
  // twice more, each time rehashing its entries in place. Erases between the growths
  // leave probe runs shifted back, as a program's frees do.
  BlockTable table;
  std::unordered_map<uint64_t, LiveBlock> reference;
  std::mt19937_64 random(5);
  for (uint32_t i = 0; i < 600'000; ++i) {
    uint64_t at = 0x7f0000000000ull + uint64_t{i} * 48;
    LiveBlock block{at, random() % 4096 + 1, i, i / 1000};
    table.insert(block);
    reference[at] = block;
    if (i % 7 == 3) {
      uint64_t gone = 0x7f0000000000ull + (random() % (i + 1)) * 48;
      LiveBlock erased;
      REQUIRE(table.erase(gone, &erased) == (reference.erase(gone) == 1));
    }
  }
  REQUIRE(table.count() == reference.size());
  checkVisitsAsIn(table, reference);  // no entry lost, no mark left in a size
  for (const auto& [address, block] : reference) {
    LiveBlock erased;
    REQUIRE(table.erase(address, &erased));
    REQUIRE(erased.stack == block.stack);
  }
  CHECK(table.count() == 0);
}

TEST_CASE("live-block table: big blocks and high addresses keep their whole size") {
  // Most blocks are kept in 16 bytes, with sizes below 65,535 and addresses below 2^47;
  // the others whole, beside. An address seen live again without its free (a free the
  // hooks missed) may change from one kind to the other, in both directions.
  BlockTable table;
  std::unordered_map<uint64_t, LiveBlock> reference;
  std::mt19937_64 random(3);
  const uint64_t sizes[] = {0, 1, 65'534, 65'535, 65'536, uint64_t{5} << 32};
  auto block = [&](uint64_t at, uint32_t stack) {
    uint64_t size = random() % 2 ? sizes[random() % 6] : random() % 200'000;
    return LiveBlock{at, size, stack, stack * 3};
  };
  auto at = [](uint32_t i) {
    return i % 5 == 0 ? (uint64_t{1} << 47) + uint64_t{i} * 16 : 0x7f0000000000ull + i * 16;
  };
  for (uint32_t i = 0; i < 20'000; ++i) {
    reference[at(i)] = block(at(i), i);
    table.insert(reference[at(i)]);
  }
  for (uint32_t i = 0; i < 20'000; i += 1 + random() % 3) {
    reference[at(i)] = block(at(i), 100'000 + i);
    table.insert(reference[at(i)]);
  }
  // Blocks at fresh addresses push the recent ones into the table: no address is in
  // the recent list and in a table at once.
  for (uint32_t i = 20'000; i < 20'040; ++i) {
    reference[at(i)] = block(at(i), i);
    table.insert(reference[at(i)]);
  }
  REQUIRE(table.count() == reference.size());
  checkVisitsAsIn(table, reference);
  for (const auto& [address, expected] : reference) {
    LiveBlock erased;
    REQUIRE(table.erase(address, &erased));
    REQUIRE(erased.size == expected.size);
    REQUIRE(erased.stack == expected.stack);
    REQUIRE(erased.allocTimeMs == expected.allocTimeMs);
  }
  CHECK(table.count() == 0);
  size_t visits = 0;
  table.forEach([&](const LiveBlock&) { ++visits; });
  CHECK(visits == 0);
}
