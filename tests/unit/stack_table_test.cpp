// The tracer's lock-free stack interning, from several threads at once.
#include "../../preload/stack_table.h"

#include <catch2/catch.hpp>
#include <set>
#include <thread>
#include <vector>

using tidemark::preload::StackTable;

TEST_CASE("equal stacks get one id, different stacks dense distinct ids, across threads") {
  static StackTable table;
  REQUIRE(table.init());
  constexpr int kStacks = 2000;
  auto stackOf = [](int i, std::vector<uintptr_t>& ips) {
    ips.assign(5 + i % 30, 0);
    for (size_t d = 0; d < ips.size(); ++d) ips[d] = 0x400000 + i * 64 + d;
  };
  std::vector<uint32_t> idsA(kStacks), idsB(kStacks);
  std::vector<int> newA(kStacks), newB(kStacks);
  auto work = [&](std::vector<uint32_t>& ids, std::vector<int>& isNew, bool reverse) {
    std::vector<uintptr_t> ips;
    for (int k = 0; k < kStacks; ++k) {
      int i = reverse ? kStacks - 1 - k : k;
      stackOf(i, ips);
      bool fresh = false;
      ids[i] = table.intern(ips.data(), static_cast<uint32_t>(ips.size()), &fresh);
      isNew[i] = fresh;
    }
  };
  std::thread a(work, std::ref(idsA), std::ref(newA), false);
  std::thread b(work, std::ref(idsB), std::ref(newB), true);
  a.join();
  b.join();
  std::set<uint32_t> distinct;
  for (int i = 0; i < kStacks; ++i) {
    CHECK(idsA[i] == idsB[i]);
    CHECK(idsA[i] != StackTable::kUnknownStack);
    CHECK(newA[i] + newB[i] == 1);  // exactly one thread defined each stack
    distinct.insert(idsA[i]);
  }
  CHECK(distinct.size() == kStacks);
  CHECK(*distinct.rbegin() == kStacks);  // ids are 1..N
  CHECK(table.count() == kStacks);

  // forEach visits each stack once, with its ips (a forked child defines them so).
  std::set<uint32_t> visited;
  bool ipsMatch = true;
  table.forEach([&](uint32_t id, const uintptr_t* ips, uint32_t depth) {
    visited.insert(id);
    bool again = false;
    ipsMatch = ipsMatch && table.intern(ips, depth, &again) == id && !again;
  });
  CHECK(visited == distinct);
  CHECK(ipsMatch);
}
