// The comparison of two times: per site the bytes and blocks added, removed and net
// between the selection's start and end (the whole run without a selection), sorted by
// net growth, each with a sparkline of its live bytes over the run.
#pragma once

#include "comparison.h"
#include "timeline_panel.h"
#include "trace_model.h"

namespace tidemark::viewer {

struct CompareState {
  analysis::Comparison comparison;
  uint64_t generation = 0;  // of the model compared
  double from = -1, to = -1;
};

void drawCompare(const TraceModel& m, const TimelineState& timeline, CompareState& state);

}  // namespace tidemark::viewer
