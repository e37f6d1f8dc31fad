// Per-site counters over time (Site::history): recorded during replay at process samples,
// read by the comparison, the call trees and the viewer's stacked sites and sparklines.
// Memory stays within a budget of points: when the histories outgrow it, every second
// checkpoint is dropped and from then on only every second sample is kept, so a run of a
// day costs what a run of minutes does, at a coarser resolution.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "analysis.h"

namespace tidemark::analysis {

class SiteHistoryRecorder {
 public:
  static constexpr size_t kDefaultBudgetPoints = size_t{1} << 20;  // 40 MiB of SitePoints
  explicit SiteHistoryRecorder(size_t budgetPoints = kDefaultBudgetPoints)
      : budget_(budgetPoints) {}

  // The counters of `stack` changed.
  void touch(uint32_t stack) {
    if (stack >= touchedFlag_.size()) touchedFlag_.resize(std::max<size_t>(stack + 1, 64) * 2);
    if (!touchedFlag_[stack]) {
      touchedFlag_[stack] = 1;
      touched_.push_back(stack);
    }
  }
  // A process sample: a checkpoint (with a point for every touched site) when the
  // stride keeps this sample.
  void sample(uint64_t timeUs, const std::vector<Site>& sites);

  // The checkpoint times, ending with the end of the trace when anything changed since
  // the last checkpoint.
  std::vector<double> checkpointTimesS(uint64_t endUs) const;
  // One site's history, including its counters at the end of the trace.
  std::vector<SitePoint> historyOf(uint32_t stack, const Site& current) const;

 private:
  void coarsen();

  size_t budget_;
  std::vector<uint64_t> timesUs_{0};  // checkpoint 0: the start, before any allocation
  std::vector<std::vector<SitePoint>> perStack_;
  std::vector<uint32_t> touched_;
  std::vector<uint8_t> touchedFlag_;
  uint64_t samples_ = 0;
  uint64_t stride_ = 1;
  size_t points_ = 0;
};

// The index of the last checkpoint at or before `timeS`; checkpoint 0 is the start.
size_t checkpointAt(const Analysis& a, double timeS);
// A site's counters at a checkpoint: its last point at or before it, zero before any.
SitePoint siteAt(const Site& site, size_t checkpoint);

}  // namespace tidemark::analysis
