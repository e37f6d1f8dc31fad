// Call trees of heap bytes: each site's bytes (live at a time, allocated in a range, or
// lost) added along its call stack, merged by function. Top-down starts at the program's
// entry points; bottom-up starts at the functions that called the allocator, so its
// first level answers "who allocates" and the top-down tree "through which path".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis.h"

namespace tidemark::analysis {

enum class TreeDirection { TopDown, BottomUp };

struct CallNode {
  std::string function;  // "all" for the root
  std::string module;    // of the first frame merged here
  uint32_t parent = 0;   // the root is its own parent
  uint32_t depth = 0;
  uint64_t bytes = 0;  // of every stack through this node
  uint64_t blocks = 0;
  uint64_t selfBytes = 0;          // of stacks that end here
  std::vector<uint32_t> children;  // by bytes, descending
};

// nodes[0] is the root; a child's index is always greater than its parent's.
struct CallTree {
  std::vector<CallNode> nodes;
  // The path from the root to `node`, root first.
  std::vector<uint32_t> pathTo(uint32_t node) const;
};

// One stack's weight in a tree.
struct StackWeight {
  const Site* site;
  uint64_t bytes;
  uint64_t blocks;
};

CallTree buildCallTree(const std::vector<StackWeight>& weights, TreeDirection direction);

// The weights the trees are built from.
std::vector<StackWeight> liveAt(const Analysis& a, double timeS);
std::vector<StackWeight> allocatedBetween(const Analysis& a, double fromS, double toS);
// Definitely and indirectly lost in the reported snapshot; without snapshots, what was
// not freed at the end of the trace.
std::vector<StackWeight> lost(const Analysis& a);

}  // namespace tidemark::analysis
