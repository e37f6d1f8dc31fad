// Leak classes of one heap-graph snapshot, with memcheck's definitions (valgrind manual,
// "Looking for Memory Leaks"):
//   reachable   a chain of start-pointers leads to it from a root;
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

// A snapshot's graph: blocks in address order, roots, and edges as adjacency lists.
struct HeapGraph {
  std::vector<format::SnapshotBlock> blocks;
  std::vector<format::SnapshotRoot> roots;
  std::vector<uint64_t> edgeBegin;   // edges of block i: [edgeBegin[i], edgeBegin[i + 1])
  std::vector<uint64_t> edgeTarget;  // target << 1 | interior

  // Builds edgeBegin/edgeTarget from edges sorted by source.
  void setEdges(const std::vector<format::SnapshotEdge>& edges);
};

struct Classification {
  std::vector<LeakKind> kind;  // per block
  // For each lost block, the definite block whose clique it belongs to (itself for a
  // definite block); UINT64_MAX for reachable and possible blocks.
  std::vector<uint64_t> leader;
};

Classification classifyLeaks(const HeapGraph& graph);

}  // namespace tidemark::analysis
