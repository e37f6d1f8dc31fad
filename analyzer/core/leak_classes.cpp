// Reachability marking and lost-block cliques (see leak_classes.h).
#include "leak_classes.h"

namespace tidemark::analysis {

const char* leakKindName(LeakKind kind) {
  switch (kind) {
    case LeakKind::Reachable:
      return "reachable";
    case LeakKind::Possible:
      return "possible";
    case LeakKind::Indirect:
      return "indirect";
    case LeakKind::Definite:
      return "definite";
  }
  return "?";
}

void HeapGraph::setEdges(const std::vector<format::SnapshotEdge>& edges) {
  edgeBegin.assign(blocks.size() + 1, 0);
  edgeTarget.clear();
  edgeTarget.reserve(edges.size());
  for (const auto& e : edges) {
    ++edgeBegin[e.from + 1];
    edgeTarget.push_back(e.to << 1 | e.interior);
  }
  for (size_t i = 1; i < edgeBegin.size(); ++i) edgeBegin[i] += edgeBegin[i - 1];
}

namespace {

enum class Mark : uint8_t { Unreached, Possible, Reachable };

// Marks from the roots. A block reached by a start pointer from a root or a reachable
// block is reachable; reached any other way, possible. A block is scanned again when its
// mark rises, so what it points to rises too.
std::vector<Mark> markFromRoots(const HeapGraph& g) {
  std::vector<Mark> mark(g.blocks.size(), Mark::Unreached);
  std::vector<uint64_t> work;
  auto reach = [&](uint64_t block, bool definitePath) {
    Mark next = definitePath ? Mark::Reachable : Mark::Possible;
    if (mark[block] < next) {
      mark[block] = next;
      work.push_back(block);
    }
  };
  for (const auto& root : g.roots) reach(root.block, !root.interior);
  while (!work.empty()) {
    uint64_t block = work.back();
    work.pop_back();
    bool definite = mark[block] == Mark::Reachable;
    for (uint64_t e = g.edgeBegin[block]; e < g.edgeBegin[block + 1]; ++e) {
      uint64_t target = g.edgeTarget[e];
      reach(target >> 1, definite && !(target & 1));
    }
  }
  return mark;
}

// Depth-first from `start` over every edge; `enter(target)` says whether to go on there.
template <typename Enter>
void floodFrom(const HeapGraph& g, uint64_t start, Enter&& enter) {
  std::vector<uint64_t> work{start};
  while (!work.empty()) {
    uint64_t block = work.back();
    work.pop_back();
    for (uint64_t e = g.edgeBegin[block]; e < g.edgeBegin[block + 1]; ++e) {
      uint64_t target = g.edgeTarget[e] >> 1;
      if (enter(target)) work.push_back(target);
    }
  }
}

}  // namespace

Classification classifyLeaks(const HeapGraph& g) {
  std::vector<Mark> mark = markFromRoots(g);
  Classification out;
  out.kind.assign(g.blocks.size(), LeakKind::Reachable);
  out.leader.assign(g.blocks.size(), UINT64_MAX);
  std::vector<bool> inClique(g.blocks.size(), false);
  for (uint64_t i = 0; i < g.blocks.size(); ++i) {
    if (mark[i] == Mark::Possible) out.kind[i] = LeakKind::Possible;
    if (mark[i] != Mark::Unreached || inClique[i]) continue;
    // i leads a clique: everything lost it reaches is indirect, including earlier
    // leaders, which it absorbs.
    out.kind[i] = LeakKind::Definite;
    inClique[i] = true;
    floodFrom(g, i, [&](uint64_t target) {
      if (mark[target] != Mark::Unreached || target == i) return false;
      if (inClique[target] && out.kind[target] != LeakKind::Definite) return false;
      out.kind[target] = LeakKind::Indirect;
      inClique[target] = true;
      return true;
    });
  }
  // Every lost block's leader, from the final definite set: the first definite block (in
  // address order) that reaches it.
  for (uint64_t i = 0; i < g.blocks.size(); ++i) {
    if (out.kind[i] != LeakKind::Definite) continue;
    out.leader[i] = i;
    floodFrom(g, i, [&](uint64_t target) {
      if (out.kind[target] != LeakKind::Indirect || out.leader[target] != UINT64_MAX) return false;
      out.leader[target] = i;
      return true;
    });
  }
  return out;
}

}  // namespace tidemark::analysis
