// Event replay (see heap_replay.h).
#include "heap_replay.h"

#include <string.h>

#include <algorithm>
#include <cstring>

namespace tidemark::analysis {

std::string signalName(int signal) {
  const char* name = sigabbrev_np(signal);  // "TERM"
  return name ? std::string("SIG") + name : "signal " + std::to_string(signal);
}

using format::PackedOp;

Site& HeapReplay::site(uint32_t stack) {
  if (stack >= sites_.size()) {
    size_t old = sites_.size();
    sites_.resize(std::max<size_t>(stack + 1, old * 2));
    for (size_t i = old; i < sites_.size(); ++i) sites_[i].stack = static_cast<uint32_t>(i);
  }
  return sites_[stack];
}

void HeapReplay::onProcessInfo(const format::ProcessInfo& info) { process_ = info; }

void HeapReplay::onModuleLoad(const format::ModuleInfo& module) { modules_.push_back(module); }

ThreadSummary& HeapReplay::thread(int32_t tid, uint64_t timeUs) {
  auto [it, inserted] = threads_.try_emplace(tid);
  if (inserted) {
    it->second.tid = tid;
    it->second.firstSeenS = timeUs / 1e6;
  }
  return it->second;
}

void HeapReplay::onThreadEnd(int32_t tid, uint64_t timeUs) {
  thread(tid, timeUs).endS = timeUs / 1e6;
}

void HeapReplay::onMark(int32_t tid, uint64_t timeUs, const std::string& label) {
  marks_.push_back({timeUs / 1e6, tid, label});
}

void HeapReplay::onThreadInfo(const format::ThreadInfo& info) {
  ThreadSummary& t = thread(info.tid, info.timeUs);
  t.name = info.name;
  if (info.stackHigh > info.stackLow) t.stackBytesReserved = info.stackHigh - info.stackLow;
}

void HeapReplay::onStack(uint32_t id, const std::vector<uint64_t>& ips) { stacks_[id] = ips; }

void HeapReplay::allocate(const format::Event& e) {
  BlockLedger::Block block(e.size, e.ring, e.stack, e.timeUs);
  BlockLedger::Allocated allocated = blocks_.allocate(e.address, block);
  Site& s = site(e.stack);
  history_.touch(e.stack);
  ++s.allocations;
  s.allocatedBytes += block.size;
  s.leakedBytes += block.size;
  ++s.leakedBlocks;
  s.peakBytes = std::max(s.peakBytes, s.leakedBytes);
  ++summary_.allocations;
  summary_.allocatedBytes += block.size;
  liveBytes_ += block.size;
  // A block beside another at its address lived before that one or after its free was
  // read: no peak of this moment.
  if (allocated == BlockLedger::Allocated::Live && liveBytes_ > summary_.peakHeapBytes) {
    summary_.peakHeapBytes = liveBytes_;
    summary_.peakHeapTimeS = e.timeUs / 1e6;
  }
  if (allocated == BlockLedger::Allocated::FreedAlready) forget(block);  // its free came first
}

void HeapReplay::inherit(uint64_t address, uint64_t size, uint32_t stack) {
  BlockLedger::Block block(size, BlockLedger::Block::kNoRing, stack, 0);
  if (blocks_.allocate(address, block) != BlockLedger::Allocated::Live) return;
  Site& s = site(stack);
  history_.touch(stack);
  s.leakedBytes += block.size;
  ++s.leakedBlocks;
  s.peakBytes = std::max(s.peakBytes, s.leakedBytes);
  summary_.inheritedBytes += block.size;
  ++summary_.inheritedBlocks;
  liveBytes_ += block.size;
  summary_.peakHeapBytes = std::max(summary_.peakHeapBytes, liveBytes_);
}

void HeapReplay::forget(const BlockLedger::Block& block) {
  Site& s = site(block.stack);
  history_.touch(block.stack);
  s.leakedBytes -= block.size;
  --s.leakedBlocks;
  liveBytes_ -= block.size;
  ++summary_.frees;
}

std::optional<BlockLedger::Block> HeapReplay::free(uint64_t address, const BlockLedger::Free& f) {
  std::optional<BlockLedger::Block> block = blocks_.free(address, f);
  if (block) forget(*block);
  return block;
}

void HeapReplay::onEvents(std::span<const format::Event> run) {
  // The live-block map is the replay's one big structure: with millions of live blocks
  // nearly every event misses the cache there. Loading the slots a few events ahead lets
  // those misses overlap instead of coming one after another.
  constexpr size_t kAhead = 16;
  auto prefetch = [&](const format::Event& e) {
    blocks_.prefetch(e.address);
    if (e.op == PackedOp::Realloc) blocks_.prefetch(e.oldAddress);
  };
  for (size_t i = 0; i < std::min(kAhead, run.size()); ++i) prefetch(run[i]);
  for (size_t i = 0; i < run.size(); ++i) {
    if (i + kAhead < run.size()) prefetch(run[i + kAhead]);
    replay(run[i]);
  }
}

void HeapReplay::replay(const format::Event& e) {
  lastTimeUs_ = std::max(lastTimeUs_, e.timeUs);
  if (e.tid != lastTid_ || !lastAlloc_) {  // cheap: events come in runs of one thread
    thread(e.tid, e.timeUs);
    lastTid_ = e.tid;
    lastAlloc_ = &lastAllocByThread_[e.tid];  // node-based: stays valid
  }
  switch (e.op) {
    case PackedOp::Alloc:
      if (e.function == format::AllocFunction::Inherited) {
        inherit(e.address, e.size, e.stack);
        return;
      }
      allocate(e);
      *lastAlloc_ = e.address;
      return;
    case PackedOp::Free: {
      if (!e.address) return;
      auto block = free(e.address, {e.freed, e.ring, e.timeUs, e.size, e.stack});
      // heaptrack's definition: freed right after it was allocated, with no other
      // allocation of the same thread in between.
      if (*lastAlloc_ == e.address) {
        if (block) ++site(block->stack).temporaryAllocations;
        ++summary_.temporaryAllocations;
        *lastAlloc_ = 0;
      }
      return;
    }
    case PackedOp::Realloc:
      if (e.oldAddress) free(e.oldAddress, {e.freed, e.ring, e.timeUs, 0, 0});
      allocate(e);
      *lastAlloc_ = e.address;
      return;
    case PackedOp::Mmap:
      if (mappings_.emplace(e.address, e.size).second) mappedBytes_ += e.size;
      return;
    case PackedOp::Munmap: {
      auto it = mappings_.find(e.address);
      if (it != mappings_.end() && it->second <= e.size) {
        mappedBytes_ -= it->second;
        mappings_.erase(it);
      }
      return;
    }
    default:
      return;
  }
}

void HeapReplay::onSample(const format::ProcessSample& sample) {
  uint64_t stackBytes = 0;
  for (const auto& t : sample.threads) {
    stackBytes += t.residentBytes;
    ThreadSummary& summary = thread(t.tid, sample.timeUs);
    summary.peakStackResidentBytes = std::max(summary.peakStackResidentBytes, t.residentBytes);
  }
  lastTimeUs_ = std::max(lastTimeUs_, sample.timeUs);
  timeline_.push_back(
      {sample.timeUs, liveBytes_, sample.rssBytes, stackBytes, summary_.allocations});
  if (sample.rssBytes > summary_.peakRssBytes) {
    summary_.peakRssBytes = sample.rssBytes;
    summary_.peakRssTimeS = sample.timeUs / 1e6;
  }
  summary_.peakStackBytes = std::max(summary_.peakStackBytes, stackBytes);
  history_.sample(sample.timeUs, sites_);
}

void HeapReplay::onTrailer(const format::Trailer& trailer) {
  sawTrailer_ = true;
  trailer_ = trailer;
  lastTimeUs_ = std::max(lastTimeUs_, trailer.timeUs);
}

// The trailer read was not the end: the program went on after its exec failed.
void HeapReplay::onExecFailed(uint64_t timeUs) {
  sawTrailer_ = false;
  marks_.push_back({timeUs / 1e6, process_.pid, "exec failed"});
}

void HeapReplay::fillSummary(Analysis& out, bool truncated) const {
  Summary& s = out.summary;
  s = summary_;
  s.pid = process_.pid;
  s.parentPid = process_.parentPid;
  s.execGeneration = process_.execGeneration;
  s.executable = process_.executable;
  s.arguments = process_.arguments;
  s.durationS = lastTimeUs_ / 1e6;
  s.mappedBytesAtExit = mappedBytes_;
  s.complete = sawTrailer_;
  s.truncated = truncated;
  s.droppedEvents = sawTrailer_ ? trailer_.droppedEvents : 0;
  s.exitReason = "unknown";
  if (sawTrailer_) {
    s.endWrittenBy = trailer_.events == format::kTrailerWrittenAfterEnd ? "record" : "tracer";
    switch (trailer_.exitReason) {
      case format::ExitReason::Normal:
        s.exitReason = "exit";
        break;
      case format::ExitReason::FastExit:
        s.exitReason = "_exit";
        break;
      case format::ExitReason::Abort:
        s.exitReason = "abort";
        break;
      case format::ExitReason::Exec:
        s.exitReason = "exec";
        break;
    }
    if (int signal = format::signalOfExit(trailer_.exitReason)) s.exitReason = signalName(signal);
    if (int error = format::writeErrorOfStop(trailer_.exitReason)) {
      s.complete = false;  // the program went on, untraced
      s.tracingStopped = std::strerror(error);
    }
  }
  for (const auto& site : sites_) {
    s.leakedBytes += site.leakedBytes;
    s.leakedBlocks += site.leakedBlocks;
  }
  out.timeline = timeline_;
  out.checkpointTimesS = history_.checkpointTimesS(lastTimeUs_);
  out.marks = marks_;
  std::sort(out.marks.begin(), out.marks.end(),
            [](const TimelineMark& a, const TimelineMark& b) { return a.timeS < b.timeS; });
  out.threads.clear();
  for (const auto& [tid, thread] : threads_) out.threads.push_back(thread);
  std::sort(out.threads.begin(), out.threads.end(),
            [](const ThreadSummary& a, const ThreadSummary& b) { return a.tid < b.tid; });
}

}  // namespace tidemark::analysis
