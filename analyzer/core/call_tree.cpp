// Call trees (see call_tree.h).
#include "call_tree.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "site_history.h"

namespace tidemark::analysis {

std::vector<uint32_t> CallTree::pathTo(uint32_t node) const {
  std::vector<uint32_t> path{node};
  while (node != 0) {
    node = nodes[node].parent;
    path.push_back(node);
  }
  std::reverse(path.begin(), path.end());
  return path;
}

namespace {

void sortChildren(CallTree& tree) {
  for (auto& node : tree.nodes) {
    std::stable_sort(node.children.begin(), node.children.end(), [&](uint32_t l, uint32_t r) {
      return tree.nodes[l].bytes > tree.nodes[r].bytes;
    });
  }
}

}  // namespace

CallTree buildCallTree(const std::vector<StackWeight>& weights, TreeDirection direction) {
  CallTree tree;
  tree.nodes.push_back({"all", "", 0, 0, 0, 0, 0, {}});
  // Children are found by (parent, function id); the ids' names live in the sites' frames,
  // which outlive the build.
  std::unordered_map<std::string_view, uint32_t> functionIds;
  std::unordered_map<uint64_t, uint32_t> children;
  static const std::string unknown = "??";
  for (const StackWeight& w : weights) {
    if (w.bytes == 0 && w.blocks == 0) continue;
    const auto& frames = w.site->frames;
    uint32_t node = 0;
    tree.nodes[0].bytes += w.bytes;
    tree.nodes[0].blocks += w.blocks;
    for (size_t i = 0; i < frames.size(); ++i) {
      // Frames are innermost first: top-down walks them backwards.
      const Frame& f = frames[direction == TreeDirection::TopDown ? frames.size() - 1 - i : i];
      const std::string& function = f.function.empty() ? unknown : f.function;
      uint32_t id = functionIds.try_emplace(function, functionIds.size()).first->second;
      auto [it, inserted] = children.try_emplace(uint64_t{node} << 32 | id, 0);
      if (inserted) {
        it->second = static_cast<uint32_t>(tree.nodes.size());
        tree.nodes[node].children.push_back(it->second);
        tree.nodes.push_back({function, f.module, node, tree.nodes[node].depth + 1, 0, 0, 0, {}});
      }
      node = it->second;
      tree.nodes[node].bytes += w.bytes;
      tree.nodes[node].blocks += w.blocks;
    }
    tree.nodes[node].selfBytes += w.bytes;
  }
  sortChildren(tree);
  return tree;
}

std::vector<StackWeight> liveAt(const Analysis& a, double timeS) {
  std::vector<StackWeight> weights;
  size_t checkpoint = checkpointAt(a, timeS);
  for (const Site& site : a.sites) {
    SitePoint p = siteAt(site, checkpoint);
    if (p.liveBlocks) weights.push_back({&site, p.liveBytes, p.liveBlocks});
  }
  return weights;
}

std::vector<StackWeight> allocatedBetween(const Analysis& a, double fromS, double toS) {
  if (fromS > toS) std::swap(fromS, toS);
  std::vector<StackWeight> weights;
  size_t from = checkpointAt(a, fromS), to = checkpointAt(a, toS);
  for (const Site& site : a.sites) {
    SitePoint before = siteAt(site, from), after = siteAt(site, to);
    if (after.allocations > before.allocations) {
      weights.push_back({&site, after.allocatedBytes - before.allocatedBytes,
                         after.allocations - before.allocations});
    }
  }
  return weights;
}

std::vector<StackWeight> lost(const Analysis& a) {
  std::vector<StackWeight> weights;
  if (a.reportedSnapshot()) {
    // Leak groups carry their own frames; a Site-shaped view of them keeps one tree code.
    std::unordered_map<uint32_t, const Site*> siteOfStack;
    for (const Site& site : a.sites) siteOfStack[site.stack] = &site;
    for (const LeakGroup& g : a.leaks) {
      if (g.kind != LeakKind::Definite && g.kind != LeakKind::Indirect) continue;
      auto site = siteOfStack.find(g.stack);
      if (site != siteOfStack.end()) weights.push_back({site->second, g.bytes, g.blocks});
    }
    return weights;
  }
  for (const Site& site : a.sites) {
    if (site.leakedBlocks) weights.push_back({&site, site.leakedBytes, site.leakedBlocks});
  }
  return weights;
}

}  // namespace tidemark::analysis
