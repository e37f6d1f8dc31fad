// The leaks view: the leak timeline (bytes of each lost class per snapshot, the
// selected range shaded), every snapshot's classes in a table, and the leak groups of the
// snapshot chosen there (the reported one at first), each with its allocation stack,
// when it was first seen lost and what holds indirect blocks.
#pragma once

#include "timeline_panel.h"
#include "trace_model.h"

namespace tidemark::viewer {

struct LeaksState {
  int snapshot = -1;  // index into Analysis::snapshots; -1: the reported snapshot
};

void drawLeaks(const TraceModel& m, const TimelineState& timeline, LeaksState& state);

}  // namespace tidemark::viewer
