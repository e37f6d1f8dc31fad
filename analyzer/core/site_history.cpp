// Site histories (see site_history.h).
#include "site_history.h"

#include <algorithm>

namespace tidemark::analysis {

namespace {

SitePoint pointOf(const Site& s, uint32_t checkpoint) {
  // Site::leakedBytes/leakedBlocks are the live counters while the replay runs.
  return {checkpoint, s.leakedBytes, s.leakedBlocks, s.allocatedBytes, s.allocations};
}

}  // namespace

void SiteHistoryRecorder::sample(uint64_t timeUs, const std::vector<Site>& sites) {
  // A checkpoint even when nothing changed: comparisons then name the sample times
  // they were asked for.
  if (samples_++ % stride_ != 0) return;
  auto checkpoint = static_cast<uint32_t>(timesUs_.size());
  timesUs_.push_back(timeUs);
  if (perStack_.size() < sites.size()) perStack_.resize(sites.size());
  for (uint32_t stack : touched_) {
    perStack_[stack].push_back(pointOf(sites[stack], checkpoint));
    touchedFlag_[stack] = 0;
  }
  points_ += touched_.size();
  touched_.clear();
  while (points_ > budget_ && timesUs_.size() > 2) coarsen();
}

void SiteHistoryRecorder::coarsen() {
  // Keep the checkpoints with even index (and the last): old checkpoint c maps to new
  // (c + 1) / 2, whose state it equals unless a later point overrides it.
  std::vector<uint64_t> kept;
  for (size_t i = 0; i < timesUs_.size(); i += 2) kept.push_back(timesUs_[i]);
  if (timesUs_.size() % 2 == 0) kept.push_back(timesUs_.back());
  timesUs_ = std::move(kept);
  points_ = 0;
  for (auto& history : perStack_) {
    size_t out = 0;
    for (const SitePoint& p : history) {
      SitePoint moved = p;
      moved.checkpoint = (p.checkpoint + 1) / 2;
      if (out > 0 && history[out - 1].checkpoint == moved.checkpoint) --out;
      history[out++] = moved;
    }
    history.resize(out);
    history.shrink_to_fit();
    points_ += out;
  }
  stride_ *= 2;
}

std::vector<double> SiteHistoryRecorder::checkpointTimesS(uint64_t endUs) const {
  std::vector<double> times;
  times.reserve(timesUs_.size() + 1);
  for (uint64_t us : timesUs_) times.push_back(us / 1e6);
  if (!touched_.empty()) times.push_back(std::max(endUs, timesUs_.back()) / 1e6);
  return times;
}

std::vector<SitePoint> SiteHistoryRecorder::historyOf(uint32_t stack, const Site& current) const {
  std::vector<SitePoint> history;
  if (stack < perStack_.size()) history = perStack_[stack];
  if (stack < touchedFlag_.size() && touchedFlag_[stack]) {
    history.push_back(pointOf(current, static_cast<uint32_t>(timesUs_.size())));
  }
  return history;
}

size_t checkpointAt(const Analysis& a, double timeS) {
  const auto& times = a.checkpointTimesS;
  auto after = std::upper_bound(times.begin(), times.end(), timeS);
  return after == times.begin() ? 0 : static_cast<size_t>(after - times.begin()) - 1;
}

SitePoint siteAt(const Site& site, size_t checkpoint) {
  auto after = std::upper_bound(site.history.begin(), site.history.end(), checkpoint,
                                [](size_t c, const SitePoint& p) { return c < p.checkpoint; });
  if (after == site.history.begin()) return {static_cast<uint32_t>(checkpoint), 0, 0, 0, 0};
  SitePoint p = *(after - 1);
  p.checkpoint = static_cast<uint32_t>(checkpoint);
  return p;
}

}  // namespace tidemark::analysis
