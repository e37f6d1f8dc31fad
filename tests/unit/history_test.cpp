// Site histories, the comparison between two times, and call trees.
#include <catch2/catch.hpp>

#include "call_tree.h"
#include "comparison.h"
#include "site_history.h"
#include "trace_builder.h"

using namespace tidemark;

namespace {

const analysis::SiteChange& changeOf(const analysis::Comparison& c, uint32_t stack) {
  for (const auto& change : c.sites) {
    if (change.site->stack == stack) return change;
  }
  FAIL("no change for stack " << stack);
  throw;
}

// Three phases: site 1 allocates 3 x 100 B; then one is freed and site 2 allocates 50 B;
// then site 1 allocates 10 B after the last sample.
analysis::Analysis phasedTrace() {
  test::TraceBuilder b;
  b.attach(0, 10).time(0, 1000).stack(0, 1, {0x1}).stack(0, 2, {0x2});
  b.alloc(0, 0x1000, 100, 1).alloc(0, 0x2000, 100, 1).alloc(0, 0x3000, 100, 1);
  b.flushBatch(0).sample(1500, 1 << 20);
  b.time(0, 2000).free(0, 0x1000).alloc(0, 0x4000, 50, 2);
  b.flushBatch(0).sample(2500, 1 << 20);
  b.time(0, 3000).alloc(0, 0x5000, 10, 1);
  b.flushBatch(0).trailer(3500);
  return test::analyzeBuilt(b, "phases.tmk");
}

}  // namespace

TEST_CASE("site histories hold each site's counters at every sample and at the end") {
  auto a = phasedTrace();
  // The start, two samples and the end (something changed after the last sample).
  REQUIRE(a.checkpointTimesS.size() == 4);
  CHECK(a.checkpointTimesS[0] == 0);
  CHECK(a.checkpointTimesS[1] == Approx(0.0015));
  CHECK(a.checkpointTimesS[3] == Approx(0.0035));
  const analysis::Site* one = nullptr;
  for (const auto& s : a.sites) one = s.stack == 1 ? &s : one;
  REQUIRE(one);
  CHECK(analysis::siteAt(*one, 0).liveBytes == 0);
  CHECK(analysis::siteAt(*one, 1).liveBytes == 300);
  CHECK(analysis::siteAt(*one, 2).liveBytes == 200);
  CHECK(analysis::siteAt(*one, 2).allocations == 3);
  CHECK(analysis::siteAt(*one, 3).liveBytes == 210);
  CHECK(analysis::siteAt(*one, 3).liveBlocks == 3);
  CHECK(analysis::checkpointAt(a, 0.0020) == 1);
  CHECK(analysis::checkpointAt(a, 99) == 3);
}

TEST_CASE("a comparison gives per site the bytes and blocks added, removed and net") {
  auto a = phasedTrace();
  auto c = analysis::compareTimes(a, 0.0015, 1e9);
  CHECK(c.fromS == Approx(0.0015));
  CHECK(c.toS == Approx(0.0035));
  REQUIRE(c.sites.size() == 2);
  CHECK(c.sites[0].site->stack == 2);  // by net growth: +50 before -90
  const auto& one = changeOf(c, 1);
  CHECK(one.addedBytes == 10);
  CHECK(one.addedBlocks == 1);
  CHECK(one.removedBytes == 100);
  CHECK(one.removedBlocks == 1);
  CHECK(one.netBytes() == -90);
  CHECK(one.netBlocks == 0);
  CHECK(one.bytesBefore == 300);
  CHECK(one.bytesAfter == 210);
  CHECK(changeOf(c, 2).netBytes() == 50);
  CHECK(c.netBytes == -40);
  CHECK(c.addedBytes == 60);
  CHECK(c.removedBytes == 100);
  // Reversed times are swapped; from the start, everything is added.
  auto all = analysis::compareTimes(a, 1e9, 0);
  CHECK(all.addedBytes == 360);
  CHECK(all.netBytes == 260);
}

TEST_CASE("over budget, histories keep every second checkpoint with exact counters") {
  analysis::SiteHistoryRecorder recorder(6);
  std::vector<analysis::Site> sites(2);
  std::vector<uint64_t> liveAt;  // site 0's true live bytes at each sample
  for (uint64_t i = 1; i <= 40; ++i) {
    sites[0].leakedBytes += i;
    sites[0].allocatedBytes += i;
    ++sites[0].allocations;
    recorder.touch(0);
    if (i % 3 == 0) {
      sites[1].leakedBytes += 1;
      recorder.touch(1);
    }
    recorder.sample(i * 1000, sites);
    liveAt.push_back(sites[0].leakedBytes);
  }
  analysis::Analysis a;
  a.checkpointTimesS = recorder.checkpointTimesS(40'000);
  a.sites = sites;
  a.sites[0].history = recorder.historyOf(0, sites[0]);
  a.sites[1].history = recorder.historyOf(1, sites[1]);
  size_t points = a.sites[0].history.size() + a.sites[1].history.size();
  CHECK(points <= 6 + 2);  // the budget, plus what arrived since the last coarsening
  CHECK(a.checkpointTimesS.size() < 10);
  for (size_t c = 1; c < a.checkpointTimesS.size(); ++c) {
    auto sample = static_cast<size_t>(a.checkpointTimesS[c] * 1000 + 0.5);
    INFO("checkpoint " << c << " at sample " << sample);
    CHECK(analysis::siteAt(a.sites[0], c).liveBytes == liveAt[sample - 1]);
    CHECK(analysis::siteAt(a.sites[1], c).liveBytes == sample / 3);
  }
}

TEST_CASE("call trees merge stacks by function, top-down and bottom-up") {
  auto frame = [](const char* f) {
    analysis::Frame fr;
    fr.function = f;
    return fr;
  };
  std::vector<analysis::Site> sites(3);
  sites[0].frames = {frame("alloc_a"), frame("helper"), frame("main")};
  sites[1].frames = {frame("alloc_b"), frame("helper"), frame("main")};
  sites[2].frames = {frame("alloc_a"), frame("other"), frame("main")};
  std::vector<analysis::StackWeight> weights{
      {&sites[0], 100, 1}, {&sites[1], 30, 3}, {&sites[2], 500, 5}};

  auto down = analysis::buildCallTree(weights, analysis::TreeDirection::TopDown);
  const auto& root = down.nodes[0];
  CHECK(root.bytes == 630);
  CHECK(root.blocks == 9);
  REQUIRE(root.children.size() == 1);
  const auto& main = down.nodes[root.children[0]];
  CHECK(main.function == "main");
  REQUIRE(main.children.size() == 2);
  CHECK(down.nodes[main.children[0]].function == "other");  // 500 before 130
  const auto& helper = down.nodes[main.children[1]];
  CHECK(helper.function == "helper");
  CHECK(helper.bytes == 130);
  CHECK(helper.selfBytes == 0);
  REQUIRE(helper.children.size() == 2);
  uint32_t leaf = helper.children[0];
  CHECK(down.nodes[leaf].function == "alloc_a");
  CHECK(down.nodes[leaf].selfBytes == 100);
  CHECK(down.nodes[leaf].depth == 3);
  CHECK(down.pathTo(leaf) == std::vector<uint32_t>{0, root.children[0], main.children[1], leaf});

  auto up = analysis::buildCallTree(weights, analysis::TreeDirection::BottomUp);
  REQUIRE(up.nodes[0].children.size() == 2);
  const auto& allocA = up.nodes[up.nodes[0].children[0]];
  CHECK(allocA.function == "alloc_a");
  CHECK(allocA.bytes == 600);
  CHECK(allocA.blocks == 6);
  CHECK(up.nodes[up.nodes[0].children[1]].bytes == 30);
}

TEST_CASE("call tree weights: live at a time, allocated in a range, lost") {
  auto a = phasedTrace();
  auto live = analysis::liveAt(a, 0.0026);
  uint64_t bytes = 0;
  for (const auto& w : live) bytes += w.bytes;
  CHECK(bytes == 250);
  auto allocated = analysis::allocatedBetween(a, 0.0015, 0.0025);
  REQUIRE(allocated.size() == 1);
  CHECK(allocated[0].site->stack == 2);
  CHECK(allocated[0].bytes == 50);
  bytes = 0;
  for (const auto& w : analysis::lost(a)) bytes += w.bytes;  // no snapshot: not freed
  CHECK(bytes == 260);
}
