// Flame graph geometry (see flame_layout.h).
#include "flame_layout.h"

namespace tidemark::viewer {

namespace {

void layoutChildren(const analysis::CallTree& tree, uint32_t node, int depth, double x0, double x1,
                    double minWidth, std::vector<FlameRect>& out) {
  const auto& parent = tree.nodes[node];
  if (parent.bytes == 0) return;
  double scale = (x1 - x0) / static_cast<double>(parent.bytes);
  double x = x0;
  for (uint32_t child : parent.children) {
    double width = tree.nodes[child].bytes * scale;
    if (width >= minWidth) {
      out.push_back({child, depth, x, x + width});
      layoutChildren(tree, child, depth + 1, x, x + width, minWidth, out);
    }
    x += width;
  }
}

}  // namespace

std::vector<FlameRect> layoutFlame(const analysis::CallTree& tree, uint32_t focus,
                                   double minWidth) {
  std::vector<FlameRect> out;
  if (focus >= tree.nodes.size()) return out;
  std::vector<uint32_t> path = tree.pathTo(focus);
  for (size_t i = 0; i < path.size(); ++i) {
    out.push_back({path[i], static_cast<int>(i), 0, 1});
  }
  layoutChildren(tree, focus, static_cast<int>(path.size()), 0, 1, minWidth, out);
  return out;
}

int flameHit(const std::vector<FlameRect>& rects, double x, int depth) {
  for (const auto& r : rects) {
    if (r.depth == depth && x >= r.x0 && x < r.x1) return static_cast<int>(r.node);
  }
  return -1;
}

}  // namespace tidemark::viewer
