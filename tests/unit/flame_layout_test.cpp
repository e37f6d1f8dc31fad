// The flame graph's layout and hit-testing.
#include "flame_layout.h"

#include <catch2/catch.hpp>

using namespace tidemark;
using namespace tidemark::viewer;

namespace {

// main → {big 600 → leaf 600, small 300, tiny 1}, plus 99 bytes of main's own.
analysis::CallTree sampleTree() {
  analysis::CallTree t;
  auto add = [&](const char* name, uint32_t parent, uint64_t bytes) {
    t.nodes.push_back({name, "", parent, 0, bytes, 1, 0, {}});
    auto id = static_cast<uint32_t>(t.nodes.size() - 1);
    if (id != parent) t.nodes[parent].children.push_back(id);
    t.nodes[id].depth = id == parent ? 0 : t.nodes[parent].depth + 1;
    return id;
  };
  add("all", 0, 1000);
  uint32_t main = add("main", 0, 1000);
  uint32_t big = add("big", main, 600);
  add("small", main, 300);
  add("tiny", main, 1);
  add("leaf", big, 600);
  return t;
}

}  // namespace

TEST_CASE("flame graph: widths follow bytes, narrow nodes are left out") {
  auto tree = sampleTree();
  auto rects = layoutFlame(tree, 0, 0.01);
  REQUIRE(rects.size() == 5);  // all, main, big, leaf, small (tiny is 0.1 %)
  CHECK(rects[0].node == 0);
  CHECK(rects[1].node == 1);
  CHECK(rects[1].x1 == Approx(1));
  const FlameRect& big = rects[2];
  CHECK(big.depth == 2);
  CHECK(big.x0 == 0);
  CHECK(big.x1 == Approx(0.6));
  CHECK(rects[3].node == 5);  // leaf, under big, as wide
  CHECK(rects[3].depth == 3);
  CHECK(rects[3].x1 == Approx(0.6));
  CHECK(rects[4].node == 3);  // small, right of big
  CHECK(rects[4].x0 == Approx(0.6));
  CHECK(rects[4].x1 == Approx(0.9));
  // main's own 99 bytes leave the right tenth of row 2 empty.
  CHECK(flameHit(rects, 0.95, 2) == -1);
  CHECK(flameHit(rects, 0.7, 2) == 3);
  CHECK(flameHit(rects, 0.1, 3) == 5);
  CHECK(flameHit(rects, 0.5, 7) == -1);
}

TEST_CASE("flame graph: a focused node spans the width under its ancestors") {
  auto tree = sampleTree();
  auto rects = layoutFlame(tree, 2, 0.01);  // focus on big
  REQUIRE(rects.size() == 4);               // all, main, big, leaf
  CHECK(rects[2].node == 2);
  CHECK(rects[2].x0 == 0);
  CHECK(rects[2].x1 == 1);
  CHECK(rects[3].node == 5);
  CHECK(rects[3].x1 == Approx(1));
  CHECK(flameHit(rects, 0.99, 0) == 0);  // clicking the root goes back to everything
}
