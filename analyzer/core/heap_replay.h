// Replays a trace's events in file order to rebuild the heap: live blocks, per-stack
// counters, peak, timeline. Memory grows with live blocks and distinct stacks only.
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "address_map.h"
#include "analysis.h"
#include "site_history.h"
#include "trace_reader.h"

namespace tidemark::analysis {

class HeapReplay : public format::RecordVisitor {
 public:
  void onProcessInfo(const format::ProcessInfo& info) override;
  void onModuleLoad(const format::ModuleInfo& module) override;
  void onThreadInfo(const format::ThreadInfo& thread) override;
  void onStack(uint32_t id, const std::vector<uint64_t>& ips) override;
  void onEvents(std::span<const format::Event> run) override;
  void onThreadEnd(int32_t tid, uint64_t timeUs) override;
  void onMark(int32_t tid, uint64_t timeUs, const std::string& label) override;
  void onSample(const format::ProcessSample& sample) override;
  void onTrailer(const format::Trailer& trailer) override;

  // One per live block, in 16 bytes: its size and its allocation's time (µs into the
  // trace) each fit in 48 bits (user space is 2^47 bytes; 2^48 µs is nearly nine years).
  struct LiveBlock {
    static constexpr uint64_t kMaxSize = (uint64_t{1} << 48) - 1;
    LiveBlock() = default;
    LiveBlock(uint64_t bytes, uint32_t stackId, uint64_t timeUs)
        : size(bytes),
          timeHigh(timeUs >> 32),
          stack(stackId),
          timeLow(static_cast<uint32_t>(timeUs)) {}
    uint64_t timeUs() const { return uint64_t{timeHigh} << 32 | timeLow; }

    uint64_t size : 48 = 0;
    uint64_t timeHigh : 16 = 0;
    uint32_t stack = 0;
    uint32_t timeLow = 0;
  };

  // Per stack id, the counters of Site without its frames.
  const std::vector<Site>& sites() const { return sites_; }
  const std::unordered_map<uint32_t, std::vector<uint64_t>>& stacks() const { return stacks_; }
  const std::vector<format::ModuleInfo>& modules() const { return modules_; }
  bool sawTrailer() const { return sawTrailer_; }
  const format::ProcessInfo& process() const { return process_; }
  // How the trace ended; meaningful once sawTrailer().
  format::ExitReason exitReason() const { return trailer_.exitReason; }
  // Fills everything in `out` that replay knows (not sites, frames or sorting).
  void fillSummary(Analysis& out, bool truncated) const;
  // A site's counters over time, up to the end of what was read.
  std::vector<SitePoint> historyOf(const Site& site) const {
    return history_.historyOf(site.stack, site);
  }

 private:
  void replay(const format::Event& event);
  Site& site(uint32_t stack);
  ThreadSummary& thread(int32_t tid, uint64_t timeUs);
  void allocate(uint64_t address, uint64_t size, uint32_t stack, uint64_t timeUs, int32_t tid);
  // Whether an allocation by `tid` at `timeUs` was freed by a free read before it, which
  // is then used up.
  bool takeEarlyFree(uint64_t address, uint64_t timeUs, int32_t tid);
  // False when the address is not live.
  bool release(uint64_t address);
  // Takes a block out of the counters of the live.
  void forget(const LiveBlock& block);
  // A free (or realloc's) of `address` at `timeUs`: of the live block, or of one allocated
  // before it, or of an allocation still to be read.
  void free(uint64_t address, uint64_t timeUs, int32_t tid);
  // A free (or realloc's) of an address that is not live: its allocation may be in another
  // thread's ring that is read later.
  void freeBeforeAlloc(uint64_t address, uint64_t timeUs, int32_t tid);
  // A block a forked child had from its parent: live, but not allocated in this trace.
  void inherit(uint64_t address, uint64_t size, uint32_t stack);

  format::ProcessInfo process_;
  std::vector<format::ModuleInfo> modules_;
  std::unordered_map<uint32_t, std::vector<uint64_t>> stacks_;
  std::vector<Site> sites_;
  SiteHistoryRecorder history_;
  AddressMap<LiveBlock> live_;
  // Frees owed by another thread's ring: the address was handed out again before its free
  // reached the file (rings are drained one after the other).
  std::unordered_map<uint64_t, uint32_t> owedFrees_;
  // Blocks read after a newer block at their address: freed before it was allocated, by
  // a free still to be read. Live until then, as the blocks of live_.
  std::unordered_map<uint64_t, std::vector<LiveBlock>> olderBlocks_;
  // The reverse: frees read before their allocation (address → the frees). An allocation
  // of the address was freed by the first of them at or after its own time made by
  // another thread (one thread's ring is in its order: its own free read earlier freed
  // an older block); one with none is of a block from before tracing began, and stays.
  // Times in ascending order: both they and the allocations come mostly in time order, so
  // matching takes the front.
  struct EarlyFree {
    uint64_t timeUs;
    int32_t tid;
  };
  std::unordered_map<uint64_t, std::deque<EarlyFree>> earlyFrees_;
  std::unordered_map<int32_t, uint64_t> lastAllocByThread_;
  uint64_t* lastAlloc_ = nullptr;  // lastAllocByThread_[lastTid_]
  std::unordered_map<uint64_t, uint64_t> mappings_;
  std::unordered_map<int32_t, ThreadSummary> threads_;
  std::vector<TimelinePoint> timeline_;
  std::vector<TimelineMark> marks_;
  Summary summary_;
  uint64_t liveBytes_ = 0;
  uint64_t mappedBytes_ = 0;
  uint64_t lastTimeUs_ = 0;
  int32_t lastTid_ = 0;
  bool sawTrailer_ = false;
  format::Trailer trailer_;
};

}  // namespace tidemark::analysis
