// Leak classes on synthetic snapshots written through the real snapshot encoder: every
// case of the valgrind manual's table, clique leaders, retainers and first-lost times.
#include "leak_classes.h"

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>

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

// A trace whose one snapshot `write` makes must be rejected with `message`.
template <typename Write>
void expectRejected(const char* name, Write&& write, const char* message) {
  test::TraceBuilder b;
  b.snapshot(write);
  std::string path = test::tempPath(name);
  b.save(path);
  CHECK_THROWS_WITH(analysis::analyzeTrace(path), Catch::Contains(message));
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
    w.root(RootKind::Data, format::PointerKind::Start, 0, 0x600000);
    w.root(RootKind::Stack, format::PointerKind::Interior, 2, 0x7ff000);
    w.root(RootKind::Register, format::PointerKind::Start, 12, 0);
    w.edge(0, 1, format::PointerKind::Start);  // A → B
    w.edge(2, 3, format::PointerKind::Start);  // C → D
    w.edge(
        6, 5,
        format::PointerKind::Start);  // F (7) ─▶ G (6) ─▶ H (5): the chain's lowest address is its
    w.edge(
        7, 6,
        format::PointerKind::Start);  // end, so H and then G lead a clique first and get absorbed
    w.edge(8, 9, format::PointerKind::Start);  // I ↔ J
    w.edge(9, 8, format::PointerKind::Start);
    w.edge(10, 11, format::PointerKind::Interior);  // L ─?▶ K
    w.edge(12, 13, format::PointerKind::Interior);  // M ─?▶ N
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
    w.root(RootKind::Data, format::PointerKind::Start, 1, 0x600000);
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

TEST_CASE("a leak group's growth counts from the first complete snapshot that had it") {
  test::TraceBuilder b;
  // Stack 1 loses 64 bytes by each snapshot; stack 2 appears first in an incomplete one.
  auto snapshot = [&](uint32_t id, uint64_t timeUs, int lost, bool complete) {
    b.snapshot([&](format::SnapshotWriter& w) {
      w.begin(begin(id, timeUs, lost + 1));
      for (int i = 0; i < lost; ++i) w.block(0x1000 + 0x100 * i, 64, 1, i);
      w.block(0x9000, 32, 2, 99);
      w.end(complete ? 0 : format::kSnapshotGuardLostMemory);
    });
  };
  snapshot(0, 1'000'000, 1, false);  // incomplete: no group starts counting here
  snapshot(1, 2'000'000, 2, true);
  snapshot(2, 4'000'000, 4, true);
  b.trailer(5'000'000);
  auto a = test::analyzeBuilt(b, "group-growth.tmk");
  REQUIRE(a.snapshots.size() == 3);
  for (const auto& g : a.leaks) {
    INFO("stack " << g.stack);
    CHECK(g.firstGroupS == Approx(2.0));
    CHECK(g.firstGroupBytes == (g.stack == 1 ? 128u : 32u));
    CHECK(g.bytes == (g.stack == 1 ? 256u : 32u));
  }
  CHECK(a.leaks.size() == 2);
}

TEST_CASE("an incomplete snapshot says why: threads not stopped, memory the scan could not read") {
  test::TraceBuilder b;
  auto snapshot = [&](uint32_t id, uint32_t beginFlags, uint32_t threads, uint32_t endFlags) {
    b.snapshot([&](format::SnapshotWriter& w) {
      auto r = begin(id, 1'000'000 * (id + 1), 1);
      r.flags = beginFlags;
      r.threadsNotStopped = threads;
      w.begin(r);
      w.block(0x9000, 32, 1, 99);
      w.end(endFlags);
    });
  };
  using namespace format;
  snapshot(0, 0, 0, 0);
  snapshot(1, kSnapshotIncomplete | kSnapshotThreadsTimedOut | kSnapshotThreadsRefused, 3,
           kSnapshotGuardLostMemory);
  snapshot(2, kSnapshotIncomplete, 0, 0);  // as written before format 1.8
  snapshot(3, 0, 0, kSnapshotBlocksUnreadable);
  b.trailer(5'000'000);
  auto a = test::analyzeBuilt(b, "incomplete-why.tmk");
  REQUIRE(a.snapshots.size() == 4);
  using Names = std::vector<std::string>;
  CHECK(a.snapshots[0].complete);
  CHECK(analysis::incompleteText(a.snapshots[0]).empty());
  CHECK(analysis::incompleteReasonNames(a.snapshots[0]).empty());
  CHECK_FALSE(a.snapshots[1].complete);
  CHECK(analysis::incompleteText(a.snapshots[1]) ==
        "3 threads not stopped (ptrace refused: a debugger or another tracer, or no permission; "
        "not stopped within 500 ms); guarded memory under live blocks or roots changed before "
        "the scan read it");
  CHECK(analysis::incompleteReasonNames(a.snapshots[1]) ==
        Names{"ptrace_refused", "stop_timed_out", "guard_lost_memory"});
  CHECK(analysis::incompleteText(a.snapshots[2]) ==
        "the trace does not say why (written before format 1.8)");
  CHECK(analysis::incompleteReasonNames(a.snapshots[2]) == Names{"unknown"});
  CHECK_FALSE(a.snapshots[3].complete);
  CHECK(analysis::incompleteText(a.snapshots[3]) == "memory under live blocks could not be read");
  CHECK(analysis::incompleteReasonNames(a.snapshots[3]) == Names{"blocks_unreadable"});
  // The report is about the last complete snapshot.
  CHECK(a.reportedSnapshot() == &a.snapshots[0]);
}

TEST_CASE("snapshots that failed are listed with their reasons, and the leaks come from the rest") {
  using format::SnapshotFailure;
  test::TraceBuilder b;
  auto oneBlock = [](uint32_t id, uint64_t timeUs, bool ended) {
    return [=](format::SnapshotWriter& w) {
      w.begin(begin(id, timeUs, 1));
      w.block(0x1000, 64, 1, 10);
      if (ended) w.end();
    };
  };
  b.snapshot(oneBlock(0, 1'000'000, false));  // its scanner died after the blocks
  b.snapshotFailed(0, 1'000'000, SnapshotFailure::ScannerKilled, 9);
  b.snapshotFailed(1, 2'000'000, SnapshotFailure::NoScanner, ENOMEM);  // nothing before it
  b.snapshot(oneBlock(2, 3'000'000, false));  // no record at all (a trace before 1.5)
  b.snapshot(oneBlock(3, 4'000'000, true));
  b.snapshotFailed(4, 5'000'000, SnapshotFailure::ScannerExited, 1);
  b.snapshotFailed(5, 5'500'000, SnapshotFailure::NotResumed, 0);
  b.snapshotFailed(6, 5'600'000, SnapshotFailure::BrokenOutput, 0);
  b.snapshotFailed(7, 5'700'000, static_cast<SnapshotFailure>(99), 0);
  b.snapshot(oneBlock(8, 6'000'000, false));  // the trace ends before its End
  b.trailer(7'000'000);
  auto a = test::analyzeBuilt(b, "failed-snapshots.tmk");
  REQUIRE(a.snapshots.size() == 1);
  CHECK(a.snapshots[0].id == 3);
  CHECK(kindBytes(a.snapshots[0], LeakKind::Definite) == 64);
  std::vector<std::pair<uint32_t, std::string>> failed;
  for (const auto& f : a.failedSnapshots) failed.emplace_back(f.id, f.reason);
  CHECK(failed == std::vector<std::pair<uint32_t, std::string>>{
                      {0, "its scanning process was killed by SIGKILL"},
                      {1, "its scanning process could not be started: Cannot allocate memory"},
                      {2, "the trace has no end for it"},
                      {4, "its scanning process exited early, status 1"},
                      {5, "the program's threads were not all resumed within 5 s"},
                      {6, "its scanning process wrote a broken record"},
                      {7, "failed for a reason this reader does not know (99)"},
                      {8, "the trace has no end for it"}});
  CHECK(a.failedSnapshots[1].timeS == Approx(2.0));
  CHECK(a.failedSnapshots[1].trigger == "periodic");
  CHECK(a.failedSnapshots[2].trigger == "exit");  // from its Begin
}

TEST_CASE("memory a scan read as zeros stays with its snapshot, with the fault and mapping") {
  test::TraceBuilder b;
  const char* mapping = "7f0000000000-7f0000004000 rw-p 00000000 fe:00 42 /data/cut-short";
  b.snapshot([&](format::SnapshotWriter& w) {
    w.begin(begin(0, 1'000'000, 1));
    w.block(0x1000, 64, 1, 10);
    w.unreadable(0x7f0000001000, 0x7f0000004000, SIGBUS, BUS_ADRERR, mapping);
    w.unreadable(0x7f0000010000, 0x7f0000011000, SIGSEGV, SEGV_ACCERR, "");
    w.end();
  });
  b.snapshot([](format::SnapshotWriter& w) {
    w.begin(begin(1, 2'000'000, 1));
    w.block(0x1000, 64, 1, 10);
    w.end();
  });
  b.trailer(3'000'000);
  auto a = test::analyzeBuilt(b, "unreadable.tmk");
  REQUIRE(a.snapshots.size() == 2);
  const auto& first = a.snapshots[0].unreadable;
  REQUIRE(first.size() == 2);
  CHECK(first[0].address == 0x7f0000001000);
  CHECK(first[0].bytes == 3 * 4096);
  CHECK(first[0].signal == "SIGBUS");
  CHECK(first[0].mapping == mapping);
  CHECK(first[1].signal == "SIGSEGV");
  CHECK(first[1].bytes == 4096);
  CHECK(a.snapshots[1].unreadable.empty());
}

TEST_CASE("a fault a scan died of is named in its failure") {
  using format::SnapshotFailure;
  test::TraceBuilder b;
  // Before its Begin (the scan died listing the mappings or sorting the blocks).
  b.snapshot([](format::SnapshotWriter& w) {
    w.unreadable(0x7000, 0x8000, SIGSEGV, SEGV_MAPERR, "7000-9000 rw-p 00000000 00:00 0", true);
  });
  b.snapshotFailed(0, 1'000'000, SnapshotFailure::ScannerKilled, SIGSEGV);
  b.snapshotFailed(1, 2'000'000, SnapshotFailure::ScannerKilled, SIGSEGV);  // no note
  b.trailer(3'000'000);
  auto a = test::analyzeBuilt(b, "fatal-fault.tmk");
  REQUIRE(a.failedSnapshots.size() == 2);
  CHECK(a.failedSnapshots[0].reason ==
        "its scanning process was killed by SIGSEGV, reading at 0x7000 of 7000-9000 rw-p "
        "00000000 00:00 0");
  CHECK(a.failedSnapshots[1].reason == "its scanning process was killed by SIGSEGV");
  CHECK(a.snapshots.empty());
}

TEST_CASE("memory a scan could not read that ends before it begins is corrupt") {
  expectRejected(
      "bad-unreadable.tmk",
      [](format::SnapshotWriter& w) {
        w.begin(begin(0, 1, 0));
        w.unreadable(0x2000, 0x1000, SIGBUS, BUS_ADRERR, "");
        w.end();
      },
      "bad unreadable memory record");
}

TEST_CASE("a snapshot that refers to a block it does not list is corrupt") {
  expectRejected(
      "bad-snapshot.tmk",
      [](format::SnapshotWriter& w) {
        w.begin(begin(0, 1, 1));
        w.block(0x1000, 8, 1, 0);
        w.edge(0, 7, format::PointerKind::Start);
        w.end();
      },
      "refers to a block it lacks");
}

TEST_CASE("a snapshot pointer of a kind no version defines is corrupt") {
  expectRejected(
      "bad-pointer-kind.tmk",
      [](format::SnapshotWriter& w) {
        w.begin(begin(0, 1, 2));
        w.block(0x1000, 8, 1, 0);
        w.block(0x2000, 8, 1, 0);
        w.edge(0, 1, static_cast<format::PointerKind>(format::kPointerKinds));
        w.end();
      },
      "unknown snapshot pointer kind");
}

TEST_CASE("a pointer only a heuristic accepts makes its block reachable via that heuristic") {
  //  0 P  root ─newarray▶ P ─▶ Q (1)       P via newarray; Q plainly reachable
  //  2 R  root ─▶ R, root ─stdstring▶ R     R plainly reachable
  //  3 S  root ─?▶ T (4) ─length64▶ S       T possible, S possible (a possible source)
  //  5 U  P ─multipleinheritance▶ U         U via multipleinheritance
  test::TraceBuilder b;
  b.snapshot([](format::SnapshotWriter& w) {
    w.begin(begin(0, 1'000'000, 6));
    for (uint64_t i = 0; i < 6; ++i) w.block(0x1000 * (i + 1), 16 * (i + 1), i + 1, 0);
    w.root(RootKind::Data, format::PointerKind::NewArray, 0, 0x600000);
    w.root(RootKind::Data, format::PointerKind::Start, 2, 0x600008);
    w.root(RootKind::Data, format::PointerKind::StdString, 2, 0x600010);
    w.root(RootKind::Data, format::PointerKind::Interior, 4, 0x600018);
    w.edge(0, 1, format::PointerKind::Start);
    w.edge(0, 5, format::PointerKind::MultipleInheritance);
    w.edge(4, 3, format::PointerKind::Length64);
    w.end();
  });
  b.trailer(2'000'000);
  auto a = test::analyzeBuilt(b, "heuristics.tmk");
  REQUIRE(a.snapshots.size() == 1);
  const auto& s = a.snapshots[0];
  auto via = [&](format::PointerKind k) { return s.heuristicBlocks[static_cast<int>(k)]; };
  auto viaBytes = [&](format::PointerKind k) { return s.heuristicBytes[static_cast<int>(k)]; };
  CHECK(kindBlocks(s, LeakKind::Reachable) == 4);  // P, Q, R, U
  CHECK(kindBlocks(s, LeakKind::Possible) == 2);   // S, T
  CHECK(via(format::PointerKind::NewArray) == 1);
  CHECK(viaBytes(format::PointerKind::NewArray) == 16);
  CHECK(via(format::PointerKind::MultipleInheritance) == 1);
  CHECK(viaBytes(format::PointerKind::MultipleInheritance) == 96);
  CHECK(via(format::PointerKind::StdString) == 0);
  CHECK(via(format::PointerKind::Length64) == 0);
}

TEST_CASE("a trace of format 1.2, one bit per snapshot pointer, reads as it did") {
  // leak_kinds traced by the tracer of 2026-11-26's second session (format 1.2), before
  // pointers said which heuristic accepted them.
  analysis::AnalyzeOptions options;
  options.symbolize = false;
  auto a =
      analysis::analyzeTrace(std::string(TIDEMARK_TEST_DATA) + "/leak_kinds-v1.2.tmk", options);
  REQUIRE(a.snapshots.size() == 1);
  const auto& s = a.snapshots[0];
  CHECK(kindBytes(s, LeakKind::Definite) == 65840);
  CHECK(kindBlocks(s, LeakKind::Definite) == 5);
  CHECK(kindBytes(s, LeakKind::Indirect) == 240);
  CHECK(kindBlocks(s, LeakKind::Indirect) == 7);
  CHECK(kindBlocks(s, LeakKind::Possible) == 2);
  CHECK(kindBlocks(s, LeakKind::Reachable) == 8);
}
