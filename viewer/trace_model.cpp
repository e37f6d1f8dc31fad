// Building a TraceModel (see trace_model.h).
#include "trace_model.h"

#include <algorithm>

#include "site_history.h"

namespace tidemark::viewer {

std::string siteName(const analysis::Site& site) {
  if (site.frames.empty()) return "(unknown)";
  const analysis::Frame& frame = site.frames.front();
  // A function without a symbol is at least in a library one can name.
  if (frame.function == "??" && !frame.module.empty()) {
    return "?? (" + frame.module.substr(frame.module.rfind('/') + 1) + ")";
  }
  return frame.function;
}

std::shared_ptr<const TraceModel> buildModel(analysis::Analysis analysis, uint64_t generation,
                                             size_t topSites) {
  auto model = std::make_shared<TraceModel>();
  model->analysis = std::move(analysis);
  model->generation = generation;
  const analysis::Analysis& a = model->analysis;

  std::vector<double> times, heap, rss, rate;
  for (size_t i = 0; i < a.timeline.size(); ++i) {
    const auto& p = a.timeline[i];
    times.push_back(p.timeUs / 1e6);
    heap.push_back(static_cast<double>(p.heapBytes));
    rss.push_back(static_cast<double>(p.rssBytes));
    // Allocation calls per second since the previous sample.
    const auto* before = i ? &a.timeline[i - 1] : nullptr;
    double seconds = (p.timeUs - (before ? before->timeUs : 0)) / 1e6;
    double calls = static_cast<double>(p.allocations - (before ? before->allocations : 0));
    rate.push_back(seconds > 0 ? calls / seconds : 0);
  }
  model->heap = SeriesPyramid(times, heap);
  model->rss = SeriesPyramid(times, rss);
  model->allocationRate = SeriesPyramid(std::move(times), rate);

  std::vector<double> snapshotTimes, lost;
  for (const auto& s : a.snapshots) {
    snapshotTimes.push_back(s.timeS);
    lost.push_back(static_cast<double>(s.bytes[static_cast<int>(analysis::LeakKind::Definite)] +
                                       s.bytes[static_cast<int>(analysis::LeakKind::Indirect)]));
  }
  model->lost = SeriesPyramid(std::move(snapshotTimes), std::move(lost));

  std::vector<const analysis::Site*> top;
  for (const auto& site : a.sites) {
    top.push_back(&site);
    model->siteByStack[site.stack] = &site;
  }
  size_t n = std::min(topSites, top.size());
  std::partial_sort(top.begin(), top.begin() + n, top.end(),
                    [](const auto* l, const auto* r) { return l->peakBytes > r->peakBytes; });
  std::vector<double> below(a.checkpointTimesS.size(), 0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t c = 0; c < below.size(); ++c) {
      below[c] += static_cast<double>(analysis::siteAt(*top[i], c).liveBytes);
    }
    model->topSites.push_back(
        {top[i], siteName(*top[i]), SeriesPyramid(a.checkpointTimesS, below)});
  }
  return model;
}

}  // namespace tidemark::viewer
