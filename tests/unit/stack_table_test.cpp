// The tracer's lock-free stack interning, from several threads at once.
#include "../../preload/stack_table.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using tidemark::preload::StackTable;

TEST_CASE("equal stacks get one id, different stacks dense distinct ids, across threads") {
  // 2,000 stacks fit the table's first generation of slots; 40,000 fill it and the next,
  // while three threads race for the same stacks (two in the same order).
  const int kStacks = GENERATE(2000, 40000);
  StackTable& table = *new StackTable;  // static storage in the tracer: never freed
  REQUIRE(table.init());
  auto stackOf = [](int i, std::vector<uintptr_t>& ips) {
    ips.assign(5 + i % 30, 0);
    for (size_t d = 0; d < ips.size(); ++d) ips[d] = 0x400000 + i * 64 + d;
  };
  std::vector<uint32_t> idsA(kStacks), idsB(kStacks), idsC(kStacks);
  std::vector<int> newA(kStacks), newB(kStacks), newC(kStacks);
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
  std::thread b(work, std::ref(idsB), std::ref(newB), false);
  std::thread c(work, std::ref(idsC), std::ref(newC), true);
  a.join();
  b.join();
  c.join();
  std::set<uint32_t> distinct;
  int mismatched = 0, unknown = 0, notDefinedOnce = 0;
  for (int i = 0; i < kStacks; ++i) {
    mismatched += idsA[i] != idsB[i] || idsA[i] != idsC[i];
    unknown += idsA[i] == StackTable::kUnknownStack;
    notDefinedOnce += newA[i] + newB[i] + newC[i] != 1;  // exactly one thread defines each
    distinct.insert(idsA[i]);
  }
  CHECK(mismatched == 0);
  CHECK(unknown == 0);
  CHECK(notDefinedOnce == 0);
  CHECK(distinct.size() == static_cast<size_t>(kStacks));
  CHECK(*distinct.rbegin() == static_cast<uint32_t>(kStacks));  // ids are 1..N
  CHECK(table.count() == static_cast<uint32_t>(kStacks));

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

TEST_CASE("threads interning the same new stacks as a generation fills define each once") {
  // The first generation is 16,384 slots, full at 8,192 stacks: 8,000 go in first, then
  // eight threads intern the same 2,000 new stacks at once, across the change.
  constexpr int kBefore = 8000, kRacing = 2000, kThreads = 8;
  for (int round = 0; round < 10; ++round) {
    StackTable& table = *new StackTable;  // static storage in the tracer: never freed
    REQUIRE(table.init());
    auto stackOf = [](int i, std::vector<uintptr_t>& ips) {
      ips.assign(8 + i % 8, 0);
      for (size_t d = 0; d < ips.size(); ++d) ips[d] = 0x500000 + i * 64 + d;
    };
    std::vector<uintptr_t> ips;
    for (int i = 0; i < kBefore; ++i) {
      stackOf(i, ips);
      bool fresh = false;
      table.intern(ips.data(), static_cast<uint32_t>(ips.size()), &fresh);
    }
    std::atomic<int> ready{0};
    std::vector<std::vector<uint32_t>> ids(kThreads, std::vector<uint32_t>(kRacing));
    std::vector<int> definitions(kRacing);
    std::vector<std::thread> threads;
    std::mutex counting;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::vector<uintptr_t> mine;
        ready.fetch_add(1);
        while (ready.load() < kThreads) {
        }
        for (int k = 0; k < kRacing; ++k) {
          stackOf(kBefore + k, mine);
          bool fresh = false;
          ids[t][k] = table.intern(mine.data(), static_cast<uint32_t>(mine.size()), &fresh);
          if (fresh) {
            std::lock_guard<std::mutex> lock(counting);
            ++definitions[k];
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    int differing = 0, notOnce = 0;
    for (int k = 0; k < kRacing; ++k) {
      for (int t = 1; t < kThreads; ++t) differing += ids[t][k] != ids[0][k];
      notOnce += definitions[k] != 1;
    }
    INFO("round " << round);
    CHECK(differing == 0);
    CHECK(notOnce == 0);
    CHECK(table.count() == static_cast<uint32_t>(kBefore + kRacing));
  }
}
