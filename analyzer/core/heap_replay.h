// Replays a trace's events in file order to rebuild the heap: live blocks, per-stack
// counters, peak, timeline. Memory grows with live blocks and distinct stacks only.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "analysis.h"
#include "block_ledger.h"
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
  void onExecFailed(uint64_t timeUs) override;

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
  void allocate(const format::Event& e);
  // Takes a block out of the counters of the live.
  void forget(const BlockLedger::Block& block);
  // A free (or realloc's) of `address`: the block it ended, if read yet.
  std::optional<BlockLedger::Block> free(uint64_t address, const BlockLedger::Free& f);
  // A block a forked child had from its parent: live, but not allocated in this trace.
  void inherit(uint64_t address, uint64_t size, uint32_t stack);

  format::ProcessInfo process_;
  std::vector<format::ModuleInfo> modules_;
  std::unordered_map<uint32_t, std::vector<uint64_t>> stacks_;
  std::vector<Site> sites_;
  SiteHistoryRecorder history_;
  BlockLedger blocks_;
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
