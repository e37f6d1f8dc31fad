// The call tree and flame graph of heap bytes: live at a time (the timeline's cursor, the
// selection's end, or the end of the run), allocated in the selected range, or lost. Top-down or
// bottom-up; clicking a node in the flame graph or the tree focuses it, clicking an ancestor bar
// goes back up.
#pragma once

#include "call_tree.h"
#include "timeline_panel.h"
#include "trace_model.h"

namespace tidemark::viewer {

enum class TreeWeight { LiveAt, Allocated, Lost };

struct TreeState {
  TreeWeight weight = TreeWeight::LiveAt;
  analysis::TreeDirection direction = analysis::TreeDirection::TopDown;
  uint32_t focus = 0;
  // The tree of the last inputs, rebuilt only when they change.
  analysis::CallTree tree;
  struct Key {
    uint64_t generation = 0;
    TreeWeight weight;
    analysis::TreeDirection direction;
    double from, to;
    bool operator==(const Key&) const = default;
  } built;
};

void drawTree(const TraceModel& m, const TimelineState& timeline, TreeState& state);

}  // namespace tidemark::viewer
