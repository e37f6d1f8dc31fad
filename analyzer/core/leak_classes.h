// Leak classes of one heap-graph snapshot, with memcheck's definitions (valgrind manual,
// "Looking for Memory Leaks"):
//   reachable   a chain of start-pointers leads to it from a root (an interior pointer a
//               heuristic accepts counts as a start pointer: "reachable via heuristic"
//               when nothing else makes it reachable);
//   possible    reached from a root only through a chain with an interior pointer;
//   definite    no root reaches it, and no other lost block points to it: a leak root;
//   indirect    no root reaches it, but a lost block does (start or interior pointer).
// In a cycle of lost blocks nothing else points to, the lowest-addressed block is the
// definite one and the rest are indirect, as in memcheck.
#pragma once

#include <cstdint>
#include <vector>

#include "analysis.h"
#include "trace_reader.h"

namespace tidemark::analysis {

const char* leakKindName(LeakKind kind);  // "reachable", "possible", "indirect", "definite"
// memcheck's name of the heuristic behind a pointer kind ("stdstring", "length64",
// "newarray", "multipleinheritance"); nullptr for Start and Interior.
const char* heuristicName(format::PointerKind pointer);

// A snapshot's graph: blocks in address order, roots, and edges as adjacency lists.
struct HeapGraph {
  std::vector<format::SnapshotBlock> blocks;
  std::vector<format::SnapshotRoot> roots;
  std::vector<uint64_t> edgeBegin;   // edges of block i: [edgeBegin[i], edgeBegin[i + 1])
  std::vector<uint64_t> edgeTarget;  // target << 3 | format::PointerKind

  // Builds edgeBegin/edgeTarget from edges sorted by source.
  void setEdges(const std::vector<format::SnapshotEdge>& edges);
};

struct Classification {
  std::vector<LeakKind> kind;  // per block
  // For each lost block, the definite block whose clique it belongs to (itself for a
  // definite block); UINT64_MAX for reachable and possible blocks.
  std::vector<uint64_t> leader;
  // For a reachable block that only pointers some heuristic accepted point at (from a root
  // or a reachable block), that heuristic; Start for every other block. As in memcheck,
  // what such a block points at is reachable plainly.
  std::vector<format::PointerKind> viaHeuristic;
};

Classification classifyLeaks(const HeapGraph& graph);

}  // namespace tidemark::analysis
