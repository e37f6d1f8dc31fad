// The leaks view: the leak timeline (bytes of each lost class per snapshot, the
// selected range shaded), every snapshot's classes in a table, and the leak groups of the
// reported snapshot, each with its allocation stack, when it was first seen lost and what
// holds indirect blocks.
#pragma once

#include "timeline_panel.h"
#include "trace_model.h"

namespace tidemark::viewer {

void drawLeaks(const TraceModel& m, const TimelineState& timeline);

}  // namespace tidemark::viewer
