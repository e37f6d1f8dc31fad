// Call tree and flame graph (see tree_panel.h).
#include "tree_panel.h"

#include <imgui.h>

#include <algorithm>
#include <functional>
#include <string>

#include "flame_layout.h"
#include "palette.h"
#include "plot_math.h"

namespace tidemark::viewer {
namespace {

constexpr float kRowHeight = 20;

// The times the weights are taken at: [from, to] of the range, or `to` alone.
std::pair<double, double> timesOf(const TraceModel& m, const TimelineState& t, const TreeState& s) {
  double end = m.analysis.summary.durationS;
  if (s.weight == TreeWeight::Allocated) {
    return t.hasSelection() ? std::pair{t.selectionStart, t.selectionEnd} : std::pair{0.0, end};
  }
  if (s.weight == TreeWeight::LiveAt) {
    double at = t.cursor >= 0 ? t.cursor : t.hasSelection() ? t.selectionEnd : end;
    return {at, at};
  }
  return {end, end};
}

void rebuild(const TraceModel& m, TreeState& s, const TreeState::Key& key) {
  std::vector<analysis::StackWeight> weights;
  switch (key.weight) {
    case TreeWeight::LiveAt:
      weights = analysis::liveAt(m.analysis, key.to);
      break;
    case TreeWeight::Allocated:
      weights = analysis::allocatedBetween(m.analysis, key.from, key.to);
      break;
    case TreeWeight::Lost:
      weights = analysis::lost(m.analysis);
      break;
  }
  // Keep the focus on the same path of functions (node ids change with the tree).
  std::vector<std::string> focusPath;
  bool sameShape = key.weight == s.built.weight && key.direction == s.built.direction;
  if (sameShape && s.focus < s.tree.nodes.size()) {
    for (uint32_t id : s.tree.pathTo(s.focus)) focusPath.push_back(s.tree.nodes[id].function);
  }
  s.tree = analysis::buildCallTree(weights, key.direction);
  s.focus = 0;
  for (size_t depth = 1; depth < focusPath.size(); ++depth) {
    const auto& children = s.tree.nodes[s.focus].children;
    auto next = std::find_if(children.begin(), children.end(), [&](uint32_t c) {
      return s.tree.nodes[c].function == focusPath[depth];
    });
    if (next == children.end()) break;
    s.focus = *next;
  }
  s.built = key;
}

void nodeTooltip(const analysis::CallTree& tree, uint32_t id) {
  const auto& n = tree.nodes[id];
  double share = tree.nodes[0].bytes ? 100.0 * n.bytes / tree.nodes[0].bytes : 0;
  ImGui::BeginTooltip();
  ImGui::TextUnformatted(n.function.c_str());
  if (!n.module.empty()) ImGui::TextDisabled("%s", n.module.c_str());
  ImGui::Text("%s in %llu blocks (%.1f %%), %s of its own", formatBytes(n.bytes).c_str(),
              static_cast<unsigned long long>(n.blocks), share, formatBytes(n.selfBytes).c_str());
  ImGui::EndTooltip();
}

void drawFlame(const analysis::CallTree& tree, TreeState& s, float height) {
  ImVec2 origin = ImGui::GetCursorScreenPos();
  float width = ImGui::GetContentRegionAvail().x;
  ImGui::InvisibleButton("flame", {width, height});
  bool hovered = ImGui::IsItemHovered(), clicked = ImGui::IsItemClicked();
  ImDrawList* draw = ImGui::GetWindowDrawList();
  auto rects = layoutFlame(tree, s.focus, 1.0 / width);
  ImVec2 mouse = ImGui::GetIO().MousePos;
  int hit = flameHit(rects, (mouse.x - origin.x) / width,
                     static_cast<int>((mouse.y - origin.y) / kRowHeight));
  draw->PushClipRect(origin, {origin.x + width, origin.y + height}, true);
  ImU32 text = palette::kFlameText.imgui();
  for (const auto& r : rects) {
    ImVec2 a{origin.x + static_cast<float>(r.x0 * width), origin.y + r.depth * kRowHeight};
    ImVec2 b{origin.x + static_cast<float>(r.x1 * width) - 1, a.y + kRowHeight - 1};
    if (a.y > origin.y + height) continue;
    const std::string& name = tree.nodes[r.node].function;
    // Colour by name, so a function keeps its colour as the focus moves.
    const auto& colour = palette::kFlame[std::hash<std::string>()(name) % palette::kFlame.size()];
    draw->AddRectFilled(a, b, colour.imgui());
    if (static_cast<int>(r.node) == hit) draw->AddRect(a, b, palette::kFlameText.imgui());
    if (b.x - a.x > 30) {
      ImVec4 clip{a.x + 3, a.y, b.x - 3, b.y};
      draw->AddText(nullptr, 0, {a.x + 4, a.y + 3}, text, name.c_str(), nullptr, 0, &clip);
    }
  }
  draw->PopClipRect();
  if (hovered && hit >= 0) {
    nodeTooltip(tree, static_cast<uint32_t>(hit));
    if (clicked) s.focus = static_cast<uint32_t>(hit);
  }
}

void treeRows(const analysis::CallTree& tree, uint32_t id, bool heaviest, TreeState& s) {
  uint64_t total = std::max<uint64_t>(tree.nodes[0].bytes, 1);
  const auto& children = tree.nodes[id].children;
  for (size_t i = 0; i < children.size(); ++i) {
    uint32_t child = children[i];
    const auto& n = tree.nodes[child];
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGuiTreeNodeFlags flags = ImGuiTreeNodeFlags_SpanFullWidth | ImGuiTreeNodeFlags_OpenOnArrow;
    if (n.children.empty()) flags |= ImGuiTreeNodeFlags_Leaf;
    // The heaviest path opens by itself: the question is usually "where does it go".
    if (heaviest && i == 0) flags |= ImGuiTreeNodeFlags_DefaultOpen;
    if (child == s.focus) flags |= ImGuiTreeNodeFlags_Selected;
    bool open = ImGui::TreeNodeEx(reinterpret_cast<void*>(static_cast<intptr_t>(child)), flags,
                                  "%s", n.function.c_str());
    if (ImGui::IsItemClicked() && !ImGui::IsItemToggledOpen()) s.focus = child;
    if (ImGui::IsItemHovered()) nodeTooltip(tree, child);
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(formatBytes(n.bytes).c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%.1f %%", 100.0 * n.bytes / total);
    ImGui::TableNextColumn();
    ImGui::Text("%llu", static_cast<unsigned long long>(n.blocks));
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(formatBytes(n.selfBytes).c_str());
    if (open) {
      treeRows(tree, child, heaviest && i == 0, s);
      ImGui::TreePop();
    }
  }
}

}  // namespace

void drawTree(const TraceModel& m, const TimelineState& timeline, TreeState& s) {
  int weight = static_cast<int>(s.weight);
  ImGui::RadioButton("live at", &weight, static_cast<int>(TreeWeight::LiveAt));
  ImGui::SameLine();
  ImGui::RadioButton("allocated in range", &weight, static_cast<int>(TreeWeight::Allocated));
  ImGui::SameLine();
  ImGui::RadioButton("lost", &weight, static_cast<int>(TreeWeight::Lost));
  s.weight = static_cast<TreeWeight>(weight);
  ImGui::SameLine(0, 30);
  bool bottomUp = s.direction == analysis::TreeDirection::BottomUp;
  if (ImGui::Checkbox("bottom-up", &bottomUp)) {
    s.direction = bottomUp ? analysis::TreeDirection::BottomUp : analysis::TreeDirection::TopDown;
  }
  auto [from, to] = timesOf(m, timeline, s);
  TreeState::Key key{m.generation, s.weight, s.direction, from, to};
  if (!(key == s.built)) rebuild(m, s, key);
  ImGui::SameLine(0, 30);
  switch (s.weight) {
    case TreeWeight::LiveAt:
      ImGui::Text("live at %s", formatSeconds(to).c_str());
      break;
    case TreeWeight::Allocated:
      ImGui::Text("allocated %s .. %s", formatSeconds(from).c_str(), formatSeconds(to).c_str());
      break;
    case TreeWeight::Lost:
      ImGui::TextUnformatted(m.analysis.reportedSnapshot() ? "lost in the last snapshot"
                                                           : "not freed at the end");
      break;
  }
  const auto& root = s.tree.nodes[0];
  ImGui::Text("%s in %llu blocks", formatBytes(root.bytes).c_str(),
              static_cast<unsigned long long>(root.blocks));
  if (s.focus != 0) {
    ImGui::SameLine();
    if (ImGui::SmallButton("show all")) s.focus = 0;
  }

  float avail = ImGui::GetContentRegionAvail().y;
  drawFlame(s.tree, s, std::max(kRowHeight * 4, avail * 0.5f));
  ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                          ImGuiTableFlags_Resizable | ImGuiTableFlags_BordersInnerV;
  if (!ImGui::BeginTable("calltree", 5, flags)) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  ImGui::TableSetupColumn("function", ImGuiTableColumnFlags_WidthStretch);
  for (const char* name : {"bytes", "share", "blocks", "self"}) {
    ImGui::TableSetupColumn(name, ImGuiTableColumnFlags_WidthFixed, 80);
  }
  ImGui::TableHeadersRow();
  treeRows(s.tree, s.focus, true, s);
  ImGui::EndTable();
}

}  // namespace tidemark::viewer
