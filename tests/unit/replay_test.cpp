// The heap replay on synthetic traces: per-site counts, peaks, temporary allocations and
// the reconciliation of frees that reach the file after the address was reused.
#include <catch2/catch.hpp>

#include "analyze_trace.h"
#include "trace_builder.h"

using namespace tidemark;

namespace {

const analysis::Site& site(const analysis::Analysis& a, uint32_t stack) {
  for (const auto& s : a.sites) {
    if (s.stack == stack) return s;
  }
  FAIL("no site for stack " << stack);
  throw;
}

}  // namespace

TEST_CASE("a trailer that says exec, then more records: a failed exec, the trace goes on") {
  test::TraceBuilder b;
  b.attach(0, 10).time(0, 1000).stack(0, 1, {0x1}).alloc(0, 0x1000, 100, 1);
  b.flushBatch(0).trailer(2000, format::ExitReason::Exec);
  {
    auto a = test::analyzeBuilt(b, "exec-ended.tmk");  // the exec succeeded: its end
    CHECK(a.summary.complete);
    CHECK(a.summary.exitReason == "exec");
    CHECK(a.marks.empty());
  }
  b.time(0, 3000).alloc(0, 0x2000, 200, 1).flushBatch(0);
  {
    auto a = test::analyzeBuilt(b, "exec-failed-running.tmk");  // still running
    CHECK_FALSE(a.summary.complete);
    CHECK(a.summary.leakedBytes == 300);
    REQUIRE(a.marks.size() == 1);
    CHECK(a.marks[0].label == "exec failed");
    CHECK(a.marks[0].timeS == Approx(0.002));
  }
  b.trailer(4000);
  auto a = test::analyzeBuilt(b, "exec-failed.tmk");
  CHECK(a.summary.complete);
  CHECK(a.summary.exitReason == "exit");
  CHECK(a.summary.durationS == Approx(0.004));
  CHECK(a.summary.leakedBlocks == 2);
}

TEST_CASE("a trailer that says the trace could not be written: tracing stopped, not the end") {
  test::TraceBuilder b;
  b.attach(0, 10).time(0, 1000).stack(0, 1, {0x1}).alloc(0, 0x1000, 100, 1);
  b.flushBatch(0).trailer(2000, format::tracingStoppedBy(ENOSPC));
  auto a = test::analyzeBuilt(b, "write-stopped.tmk");
  CHECK_FALSE(a.summary.complete);
  CHECK_FALSE(a.summary.truncated);
  CHECK(a.summary.tracingStopped == "No space left on device");
  CHECK(a.summary.exitReason == "unknown");
  CHECK(a.summary.durationS == Approx(0.002));
  CHECK(a.summary.leakedBytes == 100);
}

TEST_CASE("leaks, peaks and totals per call stack") {
  test::TraceBuilder b;
  b.attach(0, 10).time(0, 1000);
  b.stack(0, 1, {0x1}).stack(0, 2, {0x2});
  b.alloc(0, 0x1000, 100, 1).alloc(0, 0x2000, 200, 1).alloc(0, 0x3000, 50, 2);
  b.time(0, 2000).free(0, 0x1000).free(0, 0x2000);  // site 1 peaked at 300 bytes
  b.alloc(0, 0x4000, 70, 1);
  b.flushBatch(0).sample(2500, 1 << 20).trailer(3000);
  auto a = test::analyzeBuilt(b, "leaks.tmk");
  CHECK(a.summary.allocations == 4);
  CHECK(a.summary.frees == 2);
  CHECK(a.summary.allocatedBytes == 420);
  CHECK(a.summary.peakHeapBytes == 350);
  CHECK(a.summary.peakHeapTimeS == Approx(0.001));
  CHECK(a.summary.leakedBytes == 120);
  CHECK(a.summary.leakedBlocks == 2);
  CHECK(a.summary.peakRssBytes == 1 << 20);
  CHECK(a.summary.complete);
  CHECK(a.summary.exitReason == "exit");
  CHECK(a.summary.durationS == Approx(0.003));
  CHECK(site(a, 1).peakBytes == 300);
  CHECK(site(a, 1).leakedBytes == 70);
  CHECK(site(a, 1).leakedBlocks == 1);
  CHECK(site(a, 1).allocations == 3);
  CHECK(site(a, 2).leakedBytes == 50);
  // Sorted by leaked bytes.
  CHECK(a.sites[0].stack == 1);
  REQUIRE(a.timeline.size() == 1);
  CHECK(a.timeline[0].heapBytes == 120);
}

TEST_CASE("a free that reaches the file after its address was reused is reconciled") {
  // Thread 2 frees 0x1000; thread 1 gets 0x1000 again, but ring 1 is drained first.
  test::TraceBuilder b;
  b.attach(1, 11).time(1, 1).stack(1, 1, {0x1}).alloc(1, 0x1000, 64, 1).flushBatch(1);
  b.attach(2, 22).time(2, 1).flushBatch(2);
  b.alloc(1, 0x1000, 32, 1).flushBatch(1);  // reuse, before the free arrived
  b.free(2, 0x1000).flushBatch(2);          // the first block's free, late
  b.trailer(10);
  auto a = test::analyzeBuilt(b, "reuse.tmk");
  CHECK(a.summary.leakedBlocks == 1);
  CHECK(a.summary.leakedBytes == 32);
  CHECK(a.summary.frees == 1);
}

TEST_CASE("an allocation read after a newer one at its address was freed before it") {
  // Thread 1 allocates 0x1000 at 1 ms and frees it at 2 ms; thread 2 gets 0x1000 at 3 ms
  // and keeps it. Ring 2 is drained first: the block read first is the newer one, and
  // the free read after both is the older block's (the sample server's pool threads
  // lost one of their planted leaks to this now and then).
  test::TraceBuilder b;
  b.attach(1, 11).attach(2, 22);
  b.time(2, 3000).stack(2, 2, {0x2}).alloc(2, 0x1000, 512, 2).flushBatch(2);
  b.time(1, 1000).stack(1, 1, {0x1}).alloc(1, 0x1000, 64, 1);
  b.time(1, 2000).free(1, 0x1000).flushBatch(1);
  // The same with the free by a third thread, read between the two: 0x2000 allocated at
  // 4 ms, freed at 5 ms, allocated again at 6 ms, rings read 2, 3, 1.
  b.attach(3, 33);
  b.time(2, 6000).alloc(2, 0x2000, 512, 2).flushBatch(2);
  b.time(3, 5000).free(3, 0x2000).flushBatch(3);
  b.time(1, 4000).alloc(1, 0x2000, 64, 1).flushBatch(1);
  // Within one tick of the clock (the usual case): ring 1 allocates and frees 0x3000,
  // then ring 2 gets it and keeps it; ring 2 read first. Ring 1's free is of its own
  // block, read before it in its ring.
  b.time(2, 8000).alloc(2, 0x3000, 512, 2).flushBatch(2);
  b.time(1, 8000).alloc(1, 0x3000, 64, 1).free(1, 0x3000).flushBatch(1);
  b.trailer(10'000);
  auto a = test::analyzeBuilt(b, "older.tmk");
  CHECK(a.summary.allocations == 6);
  CHECK(a.summary.frees == 3);
  CHECK(site(a, 2).leakedBlocks == 3);
  CHECK(site(a, 2).leakedBytes == 1536);
  CHECK(site(a, 1).leakedBlocks == 0);
  CHECK(site(a, 1).allocations == 3);
}

TEST_CASE("a thread's free of an address is not the free of its next block there") {
  // The tracer's clock ticks every few milliseconds, so these all share one time. Thread
  // 1 allocates 0x1000 (a queue node); thread 2 frees it and gets 0x1000 back from its
  // cache for a block it keeps. Ring 2 is drained first: its free comes before both
  // allocations, but thread 2's own later allocation cannot be what it freed.
  test::TraceBuilder b;
  b.attach(1, 11).attach(2, 22);
  b.time(2, 4000).stack(2, 2, {0x2}).free(2, 0x1000).alloc(2, 0x1000, 512, 2).flushBatch(2);
  b.time(1, 4000).stack(1, 1, {0x1}).alloc(1, 0x1000, 512, 1).flushBatch(1);
  b.trailer(10'000);
  auto a = test::analyzeBuilt(b, "own-free.tmk");
  CHECK(a.summary.allocations == 2);
  CHECK(a.summary.frees == 1);
  CHECK(site(a, 2).leakedBlocks == 1);
  CHECK(site(a, 1).leakedBlocks == 0);
}

TEST_CASE("a free that names another ring's block ends that block, whatever was read first") {
  // The sample server's pool: the loop thread (ring 1) allocates and frees a 512-byte
  // block at 0x1000 again and again, then a queue node there (stack 3); a pool thread
  // (ring 2) frees the node and gets 0x1000 back for a block it keeps (stack 2). One
  // clock tick, ring 2 read first. Without what the frees say, both orders fit the
  // events: the pool thread's free of a loop block, or of the node.
  test::TraceBuilder b;
  b.attach(1, 11).attach(2, 22);
  b.time(2, 4000).stack(2, 2, {0x2}).stack(2, 3, {0x3}).stack(2, 1, {0x1});
  b.freeOther(2, 0x1000, 512, 3).alloc(2, 0x1000, 512, 2).flushBatch(2);
  b.time(1, 4000);
  for (int i = 0; i < 3; ++i) b.alloc(1, 0x1000, 512, 1).free(1, 0x1000, true);
  b.alloc(1, 0x1000, 512, 3).flushBatch(1);
  // A free of an own block the reader never got (a full ring lost it) ends no other
  // ring's block.
  b.time(2, 5000).alloc(2, 0x2000, 64, 2).flushBatch(2);
  b.time(1, 5000).free(1, 0x2000, true).flushBatch(1);
  b.trailer(10'000);
  auto a = test::analyzeBuilt(b, "named.tmk");
  CHECK(a.summary.allocations == 6);
  CHECK(a.summary.frees == 4);
  CHECK(site(a, 2).leakedBlocks == 2);
  CHECK(site(a, 3).leakedBlocks == 0);
  CHECK(site(a, 1).leakedBlocks == 0);
}

TEST_CASE("a realloc of another ring's block names it, as a free does") {
  // Ring 2 allocated 0x1000 (stack 2); ring 3 reallocs it to 0x9000 and ring 1 gets
  // 0x1000 back (stack 1), all in one tick; rings read 1, 2, 3. Plain, the realloc's
  // end of 0x1000 would take ring 1's block, read first and no later than it.
  test::TraceBuilder b;
  b.attach(1, 11).attach(2, 22).attach(3, 33);
  b.time(1, 4000).stack(1, 1, {0x1}).stack(1, 2, {0x2}).stack(1, 3, {0x3});
  b.alloc(1, 0x1000, 48, 1).flushBatch(1);
  b.time(2, 4000).alloc(2, 0x1000, 64, 2).flushBatch(2);
  b.time(3, 4000).freeOther(3, 0x1000, 64, 2).realloc(3, 0, 0x9000, 128, 3).flushBatch(3);
  // A realloc of the ring's own block, with another ring's block read first there.
  b.time(2, 5000).alloc(2, 0x2000, 16, 2).flushBatch(2);
  b.time(3, 5000).alloc(3, 0x2000, 16, 3).realloc(3, 0x2000, 0xa000, 32, 3, true).flushBatch(3);
  b.trailer(10'000);
  auto a = test::analyzeBuilt(b, "realloc-other.tmk");
  CHECK(a.summary.allocations == 6);
  CHECK(site(a, 1).leakedBlocks == 1);
  CHECK(site(a, 2).leakedBlocks == 1);
  CHECK(site(a, 2).leakedBytes == 16);
  CHECK(site(a, 3).leakedBlocks == 2);
  CHECK(site(a, 3).leakedBytes == 160);
}

TEST_CASE("a free that reaches the file before its allocation is matched by time") {
  // Thread 2 allocates 0x1000 at 1 ms and 0x2000 at 3 ms; thread 1 frees both, at 2 and
  // 4 ms. Ring 1 is drained first, so both frees come before the allocations.
  test::TraceBuilder b;
  b.attach(1, 11).attach(2, 22);
  b.time(1, 2000).free(1, 0x1000).time(1, 4000).free(1, 0x2000).flushBatch(1);
  b.time(2, 1000).stack(2, 1, {0x1}).alloc(2, 0x1000, 64, 1);
  b.time(2, 3000).alloc(2, 0x2000, 16, 1).flushBatch(2);
  // The same address handed out and freed twice in one window, frees read first.
  b.time(1, 4500).free(1, 0x4000).time(1, 4700).free(1, 0x4000).flushBatch(1);
  b.time(2, 4400).alloc(2, 0x4000, 32, 1).time(2, 4600).alloc(2, 0x4000, 32, 1).flushBatch(2);
  // A block from before tracing freed at 5 ms: a later block at its address stays live.
  b.time(1, 5000).free(1, 0x3000).flushBatch(1);
  b.time(2, 6000).alloc(2, 0x3000, 8, 1).flushBatch(2);
  b.trailer(10'000);
  auto a = test::analyzeBuilt(b, "early.tmk");
  CHECK(a.summary.allocations == 5);
  CHECK(a.summary.frees == 4);
  CHECK(a.summary.leakedBlocks == 1);
  CHECK(a.summary.leakedBytes == 8);
  CHECK(site(a, 1).leakedBytes == 8);
}

TEST_CASE("realloc moves the block and the bytes, and a free right after its alloc is temporary") {
  test::TraceBuilder b;
  b.attach(0, 1).time(0, 1).stack(0, 1, {0x1}).stack(0, 2, {0x2});
  b.alloc(0, 0x1000, 10, 1).realloc(0, 0x1000, 0x9000, 500, 2);
  b.alloc(0, 0x2000, 8, 1).free(0, 0x2000);                         // temporary
  b.alloc(0, 0x3000, 8, 1).alloc(0, 0x4000, 8, 1).free(0, 0x3000);  // not temporary
  b.flushBatch(0);
  // Temporary too, with a newer block of another ring at its address read first: the
  // temporary one is the block the free ended.
  b.attach(1, 2).time(1, 1).alloc(1, 0x5000, 16, 2).flushBatch(1);
  b.alloc(0, 0x5000, 8, 1).free(0, 0x5000, true).flushBatch(0).trailer(2);
  auto a = test::analyzeBuilt(b, "realloc.tmk");
  CHECK(a.summary.temporaryAllocations == 2);
  CHECK(site(a, 1).temporaryAllocations == 2);
  CHECK(site(a, 2).temporaryAllocations == 0);
  CHECK(site(a, 2).leakedBytes == 516);
  CHECK(site(a, 1).leakedBytes == 8);
  CHECK(a.summary.leakedBytes == 524);
}

TEST_CASE("a trace without trailer is analysed and marked incomplete") {
  test::TraceBuilder b;
  b.attach(0, 1).time(0, 5).stack(0, 1, {0x1}).alloc(0, 0x1000, 10, 1).flushBatch(0).chunk();
  b.alloc(0, 0x2000, 10, 1).flushBatch(0);
  std::string path = test::tempPath("killed.tmk");
  size_t firstChunk;
  {
    test::TraceBuilder c;
    c.attach(0, 1).time(0, 5).stack(0, 1, {0x1}).alloc(0, 0x1000, 10, 1).flushBatch(0).chunk();
    firstChunk = c.bytes().size();
  }
  b.save(path, firstChunk + 3);
  analysis::AnalyzeOptions options;
  options.symbolize = false;
  auto a = analysis::analyzeTrace(path, options);
  CHECK_FALSE(a.summary.complete);
  CHECK(a.summary.truncated);
  CHECK(a.summary.exitReason == "unknown");
  CHECK(a.summary.allocations == 1);
}

TEST_CASE("inherited blocks are live from the start but not allocations of the child") {
  test::TraceBuilder b(200, 100);
  b.attach(7, 50).time(7, 0).stack(7, 1, {0x1});
  b.inherit(7, 0x1000, 100, 1).inherit(7, 0x2000, 28, 1).flushBatch(7);
  b.attach(0, 50).time(0, 500).stack(0, 2, {0x2});
  b.alloc(0, 0x3000, 10, 2).free(0, 0x2000).flushBatch(0).trailer(1000);
  auto a = test::analyzeBuilt(b, "inherited.tmk");
  CHECK(a.summary.inheritedBytes == 128);
  CHECK(a.summary.inheritedBlocks == 2);
  CHECK(a.summary.allocations == 1);  // only the child's own
  CHECK(a.summary.frees == 1);        // of an inherited block: it is known
  CHECK(a.summary.leakedBytes == 110);
  CHECK(a.summary.peakHeapBytes == 138);
  CHECK(site(a, 1).leakedBytes == 100);
  CHECK(site(a, 1).allocations == 0);
}

TEST_CASE("call stacks for only the first sites in report order, when asked") {
  test::TraceBuilder b;
  b.attach(0, 10).time(0, 1000).stack(0, 1, {0x1}).stack(0, 2, {0x2}).stack(0, 3, {0x3});
  b.alloc(0, 0x1000, 300, 1).alloc(0, 0x2000, 200, 2).alloc(0, 0x3000, 100, 3);
  b.flushBatch(0).trailer(2000);
  std::string path = test::tempPath("stacks-of-sites.tmk");
  b.save(path);
  analysis::AnalyzeOptions options;
  options.stacksOfSites = 2;
  auto a = analysis::analyzeTrace(path, options);
  REQUIRE(a.sites.size() == 3);
  CHECK(a.sites[0].stack == 1);  // 300 bytes left: first
  CHECK_FALSE(a.sites[0].frames.empty());
  CHECK(a.sites[1].stack == 2);
  CHECK_FALSE(a.sites[1].frames.empty());
  CHECK(a.sites[2].stack == 3);
  CHECK(a.sites[2].frames.empty());  // not shown: not symbolized
  options.stacksOfSites = SIZE_MAX;
  CHECK_FALSE(analysis::analyzeTrace(path, options).sites[2].frames.empty());
}
