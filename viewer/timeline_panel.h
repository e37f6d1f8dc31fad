// The timeline: live heap, RSS, the top sites as stacked areas, lost bytes per snapshot
// and the allocation rate over the run, with snapshot and mark markers. Wheel zooms,
// left-drag pans, a left click puts the cursor (the time the call tree shows live bytes
// at), right-drag selects the range the other views use (a right click clears it),
// hovering shows exact values.
#pragma once

#include "trace_model.h"

namespace tidemark::viewer {

struct TimelineState {
  double viewStart = 0;  // seconds; viewEnd <= viewStart means "the whole run"
  double viewEnd = 0;
  double selectionStart = 0;  // selectionEnd <= selectionStart means no selection
  double selectionEnd = 0;
  double cursor = -1;        // a chosen time; -1: none
  bool pinnedToEnd = false;  // following a growing trace: the view ends where the trace does
  bool hasSelection() const { return selectionEnd > selectionStart; }
};

void drawTimeline(const TraceModel& model, TimelineState& state);

}  // namespace tidemark::viewer
