// The flame graph's geometry, apart from drawing so it can be unit-tested: an icicle
// (root on top) where the focused node spans the whole width, its ancestors full-width
// bars above it, and each child a share of its parent's width in proportion to bytes.
#pragma once

#include <cstdint>
#include <vector>

#include "call_tree.h"

namespace tidemark::viewer {

struct FlameRect {
  uint32_t node;
  int depth;      // row, 0 at the top
  double x0, x1;  // fractions of the graph's width
};

// Rects in depth-first order; nodes narrower than `minWidth` (a fraction) are left out
// with their subtrees.
std::vector<FlameRect> layoutFlame(const analysis::CallTree& tree, uint32_t focus, double minWidth);

// The node drawn at (x, depth), or -1.
int flameHit(const std::vector<FlameRect>& rects, double x, int depth);

}  // namespace tidemark::viewer
