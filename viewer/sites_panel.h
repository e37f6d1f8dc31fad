// The sites table: one row per allocation stack, sortable by leaked, peak, allocations and
// allocated bytes, filtered by function or file text; clipped, so a million rows scroll.
#pragma once

#include <vector>

#include "analysis.h"

namespace tidemark::viewer {

struct SitesState {
  char filter[128] = {};
  std::vector<int> order;  // row → index into Analysis::sites, after sorting and filtering
  bool dirty = true;
};

void drawSites(const analysis::Analysis& a, SitesState& state);

}  // namespace tidemark::viewer
