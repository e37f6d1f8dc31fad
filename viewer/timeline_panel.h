// The timeline: live heap, RSS and lost bytes over the run, snapshot and mark markers,
// zoom (wheel), pan (drag) and a hover tooltip with exact values.
#pragma once

#include "analysis.h"

namespace tidemark::viewer {

struct TimelineState {
  double viewStart = 0;  // seconds; viewEnd <= viewStart means "the whole run"
  double viewEnd = 0;
};

void drawTimeline(const analysis::Analysis& a, TimelineState& state);

}  // namespace tidemark::viewer
