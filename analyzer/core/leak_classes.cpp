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

const char* heuristicName(format::PointerKind pointer) {
  switch (pointer) {
    case format::PointerKind::StdString:
      return "stdstring";
    case format::PointerKind::Length64:
      return "length64";
    case format::PointerKind::NewArray:
      return "newarray";
    case format::PointerKind::MultipleInheritance:
      return "multipleinheritance";
    default:
      return nullptr;
  }
}

void HeapGraph::setEdges(const std::vector<format::SnapshotEdge>& edges) {
  edgeBegin.assign(blocks.size() + 1, 0);
  edgeTarget.clear();
  edgeTarget.reserve(edges.size());
  for (const auto& e : edges) {
    ++edgeBegin[e.from + 1];
    edgeTarget.push_back(e.to << 3 | static_cast<uint64_t>(e.pointer));
  }
  for (size_t i = 1; i < edgeBegin.size(); ++i) edgeBegin[i] += edgeBegin[i - 1];
}

namespace {

using format::PointerKind;

enum class Mark : uint8_t { Unreached, Possible, Reachable };

uint64_t targetOf(uint64_t edge) { return edge >> 3; }
PointerKind pointerOf(uint64_t edge) { return static_cast<PointerKind>(edge & 7); }
// A start pointer, or an interior one a heuristic accepts as such.
bool startLike(PointerKind pointer) { return pointer != PointerKind::Interior; }

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
  for (const auto& root : g.roots) reach(root.block, startLike(root.pointer));
  while (!work.empty()) {
    uint64_t block = work.back();
    work.pop_back();
    bool definite = mark[block] == Mark::Reachable;
    for (uint64_t e = g.edgeBegin[block]; e < g.edgeBegin[block + 1]; ++e) {
      uint64_t edge = g.edgeTarget[e];
      reach(targetOf(edge), definite && startLike(pointerOf(edge)));
    }
  }
  return mark;
}

// Reachable blocks that only heuristic pointers from roots and reachable blocks lead to.
std::vector<PointerKind> reachableViaHeuristic(const HeapGraph& g, const std::vector<Mark>& mark) {
  std::vector<PointerKind> via(g.blocks.size(), PointerKind::Start);
  std::vector<bool> plainly(g.blocks.size(), false);
  auto seen = [&](uint64_t block, PointerKind pointer) {
    if (pointer == PointerKind::Start) {
      plainly[block] = true;
    } else if (pointer != PointerKind::Interior && via[block] == PointerKind::Start) {
      via[block] = pointer;
    }
  };
  for (const auto& root : g.roots) seen(root.block, root.pointer);
  for (uint64_t block = 0; block < g.blocks.size(); ++block) {
    if (mark[block] != Mark::Reachable) continue;
    for (uint64_t e = g.edgeBegin[block]; e < g.edgeBegin[block + 1]; ++e) {
      seen(targetOf(g.edgeTarget[e]), pointerOf(g.edgeTarget[e]));
    }
  }
  for (uint64_t block = 0; block < g.blocks.size(); ++block) {
    if (mark[block] != Mark::Reachable || plainly[block]) via[block] = PointerKind::Start;
  }
  return via;
}

// Depth-first from `start` over every edge; `enter(target)` says whether to go on there.
template <typename Enter>
void floodFrom(const HeapGraph& g, uint64_t start, Enter&& enter) {
  std::vector<uint64_t> work{start};
  while (!work.empty()) {
    uint64_t block = work.back();
    work.pop_back();
    for (uint64_t e = g.edgeBegin[block]; e < g.edgeBegin[block + 1]; ++e) {
      uint64_t target = targetOf(g.edgeTarget[e]);
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
  out.viaHeuristic = reachableViaHeuristic(g, mark);
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
