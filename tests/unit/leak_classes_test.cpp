// Leak classes on synthetic snapshots written through the real snapshot encoder: every
// case of the valgrind manual's table, clique leaders, retainers and first-lost times.
#include "leak_classes.h"

#include <catch2/catch.hpp>

#include "analyze_trace.h"
#include "trace_builder.h"

using namespace tidemark;
using analysis::LeakKind;
using format::RootKind;

namespace {

format::SnapshotBeginRecord begin(uint32_t id, uint64_t timeUs, uint64_t blocks) {
  format::SnapshotBeginRecord r{};
  r.id = id;
  r.timeUs = timeUs;
  r.trigger = static_cast<uint32_t>(format::SnapshotTrigger::Exit);
  r.pauseUs = 1500;
  r.blocks = blocks;
  return r;
}

uint64_t kindBytes(const analysis::SnapshotSummary& s, LeakKind k) {
  return s.bytes[static_cast<int>(k)];
}
uint64_t kindBlocks(const analysis::SnapshotSummary& s, LeakKind k) {
  return s.blocks[static_cast<int>(k)];
}

}  // namespace

TEST_CASE("every pointer chain of the memcheck manual gets memcheck's class") {
  // Blocks by index (address 0x1000 * (index + 1)), size 16 * (index + 1), stack index + 1:
  //  0 A  root ─▶ A ─▶ B                 reachable, reachable
  //  2 C  root ─?▶ C ─▶ D                possible, possible
  //  4 E  nothing points at E            definite
  //  7 F ─▶ 6 G ─▶ 5 H, F unreferenced  F definite, G and H indirect
  //  8 I ↔ 9 J cycle, unreferenced        I definite (lower address), J indirect
  // 10 L ─?▶ 11 K, L unreferenced          L definite, K indirect
  // 12 M  root ─▶ M                      reachable; M ─?▶ N(13): N possible
  test::TraceBuilder b;
  b.snapshot([](format::SnapshotWriter& w) {
    w.begin(begin(0, 2'000'000, 14));
    for (uint64_t i = 0; i < 14; ++i) w.block(0x1000 * (i + 1), 16 * (i + 1), i + 1, 100 + i);
    w.root(RootKind::Data, false, 0, 0x600000);
    w.root(RootKind::Stack, true, 2, 0x7ff000);
    w.root(RootKind::Register, false, 12, 0);
    w.edge(0, 1, false);  // A → B
    w.edge(2, 3, false);  // C → D
    w.edge(6, 5, false);  // F (7) ─▶ G (6) ─▶ H (5): the chain's lowest address is its
    w.edge(7, 6, false);  // end, so H and then G lead a clique first and get absorbed
    w.edge(8, 9, false);  // I ↔ J
    w.edge(9, 8, false);
    w.edge(10, 11, true);  // L ─?▶ K
    w.edge(12, 13, true);  // M ─?▶ N
    w.end();
  });
  b.trailer(3'000'000);
  auto a = test::analyzeBuilt(b, "classes.tmk");
  REQUIRE(a.snapshots.size() == 1);
  const auto& s = a.snapshots[0];
  auto size = [](std::initializer_list<int> indexes) {
    uint64_t total = 0;
    for (int i : indexes) total += 16 * (i + 1);
    return total;
  };
  CHECK(kindBlocks(s, LeakKind::Reachable) == 3);  // A, B, M
  CHECK(kindBytes(s, LeakKind::Reachable) == size({0, 1, 12}));
  CHECK(kindBlocks(s, LeakKind::Possible) == 3);  // C, D, N
  CHECK(kindBytes(s, LeakKind::Possible) == size({2, 3, 13}));
  CHECK(kindBlocks(s, LeakKind::Definite) == 4);  // E, F, I, L
  CHECK(kindBytes(s, LeakKind::Definite) == size({4, 7, 8, 10}));
  CHECK(kindBlocks(s, LeakKind::Indirect) == 4);  // H, G, J, K
  CHECK(kindBytes(s, LeakKind::Indirect) == size({5, 6, 9, 11}));
  CHECK(s.pauseMs == Approx(1.5));
  CHECK(s.trigger == "exit");

  // Groups: F (stack 8) holds G and H; their group names F's stack as retainer.
  bool sawF = false, sawH = false;
  for (const auto& g : a.leaks) {
    if (g.kind == LeakKind::Definite && g.stack == 8) {
      sawF = true;
      CHECK(g.indirectBytes == size({5, 6}));
      CHECK(g.firstSeenS == Approx(2.0));
    }
    if (g.kind == LeakKind::Indirect && g.stack == 6) {
      sawH = true;
      CHECK(g.retainedByStack == 8);
    }
  }
  CHECK(sawF);
  CHECK(sawH);
  CHECK(a.leaks.front().kind == LeakKind::Definite);
}

TEST_CASE("a block stays first lost at the snapshot where it was first lost") {
  test::TraceBuilder b;
  // Snapshot 0 at 1 s: block X (0x1000) lost, block Y (0x2000) reachable.
  b.snapshot([](format::SnapshotWriter& w) {
    w.begin(begin(0, 1'000'000, 2));
    w.block(0x1000, 64, 1, 10);
    w.block(0x2000, 32, 2, 20);
    w.root(RootKind::Data, false, 1, 0x600000);
    w.end();
  });
  // Snapshot 1 at 5 s: both lost now; a new block at X's address with another allocation
  // time is a different block.
  b.snapshot([](format::SnapshotWriter& w) {
    w.begin(begin(1, 5'000'000, 3));
    w.block(0x1000, 64, 1, 10);
    w.block(0x2000, 32, 2, 20);
    w.block(0x3000, 64, 1, 4'000'000);
    w.end();
  });
  b.trailer(6'000'000);
  auto a = test::analyzeBuilt(b, "first-lost.tmk");
  REQUIRE(a.snapshots.size() == 2);
  CHECK(kindBytes(a.snapshots[0], LeakKind::Definite) == 64);
  CHECK(kindBytes(a.snapshots[1], LeakKind::Definite) == 160);
  for (const auto& g : a.leaks) {
    if (g.stack == 1) {
      CHECK(g.blocks == 2);
      CHECK(g.firstSeenS == Approx(1.0));  // X since snapshot 0
    }
    if (g.stack == 2) CHECK(g.firstSeenS == Approx(5.0));
  }
  // Each snapshot keeps its own groups: the first had only X lost.
  REQUIRE(a.snapshots[0].groups.size() == 1);
  CHECK(a.snapshots[0].groups[0].stack == 1);
  CHECK(a.snapshots[0].groups[0].bytes == 64);
  CHECK(a.snapshots[1].groups.size() == 2);
}

TEST_CASE("a snapshot that refers to a block it does not list is corrupt") {
  test::TraceBuilder b;
  b.snapshot([](format::SnapshotWriter& w) {
    w.begin(begin(0, 1, 1));
    w.block(0x1000, 8, 1, 0);
    w.edge(0, 7, false);
    w.end();
  });
  std::string path = test::tempPath("bad-snapshot.tmk");
  b.save(path);
  CHECK_THROWS_WITH(analysis::analyzeTrace(path), Catch::Contains("refers to a block it lacks"));
}
