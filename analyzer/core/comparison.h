// What changed on the heap between two times of one run, per allocation site: the
// DevTools "comparison" view for native code. Times snap to the site histories'
// checkpoints (site_history.h), which the result reports.
#pragma once

#include <cstdint>
#include <vector>

#include "analysis.h"

namespace tidemark::analysis {

struct SiteChange {
  const Site* site = nullptr;
  uint64_t bytesBefore = 0;  // live at `from`
  uint64_t bytesAfter = 0;   // live at `to`
  uint64_t addedBytes = 0;   // allocated in between
  uint64_t addedBlocks = 0;
  uint64_t removedBytes = 0;  // freed in between
  uint64_t removedBlocks = 0;
  int64_t netBytes() const { return static_cast<int64_t>(bytesAfter - bytesBefore); }
  int64_t netBlocks = 0;
};

struct Comparison {
  double fromS = 0;  // the checkpoints compared
  double toS = 0;
  uint64_t addedBytes = 0;
  uint64_t removedBytes = 0;
  int64_t netBytes = 0;
  std::vector<SiteChange> sites;  // sites that changed, by net bytes descending
};

// Compares the heap at `fromS` with the heap at `toS` (swapped when from > to).
Comparison compareTimes(const Analysis& a, double fromS, double toS);

}  // namespace tidemark::analysis
