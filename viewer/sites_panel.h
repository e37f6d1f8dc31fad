// The sites table: one row per allocation stack, sortable by leaked, peak, allocations
// and allocated bytes — and, with a range selected on the timeline, by what each site
// allocated and grew in it and what it held live at the range's end; filtered by
// function, file or module text; clipped, so a million rows scroll.
#pragma once

#include <unordered_map>
#include <vector>

#include "comparison.h"
#include "timeline_panel.h"
#include "trace_model.h"

namespace tidemark::viewer {

struct SitesState {
  char filter[128] = {};
  std::vector<int> order;  // row → index into Analysis::sites, after sorting and filtering
  bool dirty = true;
  // The selection's comparison, by stack id, for the range columns.
  uint64_t generation = 0;
  double from = -1, to = -1;
  analysis::Comparison range;
  std::unordered_map<uint32_t, const analysis::SiteChange*> inRange;
};

void drawSites(const TraceModel& m, const TimelineState& timeline, SitesState& state);

}  // namespace tidemark::viewer
