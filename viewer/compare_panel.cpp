// Comparison view (see compare_panel.h).
#include "compare_panel.h"

#include <imgui.h>

#include <algorithm>
#include <string>

#include "palette.h"
#include "plot_math.h"
#include "site_history.h"

namespace tidemark::viewer {
namespace {

constexpr int kSparkPoints = 60;

// The site's live bytes over the whole run, the compared range shaded.
void sparkline(const TraceModel& m, const analysis::Site& site, double from, double to) {
  const auto& a = m.analysis;
  ImVec2 origin = ImGui::GetCursorScreenPos();
  ImVec2 size{ImGui::GetContentRegionAvail().x, ImGui::GetTextLineHeight()};
  ImGui::Dummy(size);
  double duration = std::max(a.summary.durationS, 1e-3);
  double values[kSparkPoints], top = 1;
  for (int i = 0; i < kSparkPoints; ++i) {
    size_t c = analysis::checkpointAt(a, duration * (i + 1) / kSparkPoints);
    values[i] = static_cast<double>(analysis::siteAt(site, c).liveBytes);
    top = std::max(top, values[i]);
  }
  ImDrawList* draw = ImGui::GetWindowDrawList();
  Axis x{0, duration, origin.x, origin.x + size.x};
  draw->AddRectFilled({x.toPixel(from), origin.y}, {x.toPixel(to), origin.y + size.y},
                      palette::kSelection.imgui(0.18f));
  ImVec2 points[kSparkPoints];
  for (int i = 0; i < kSparkPoints; ++i) {
    points[i] = {origin.x + size.x * (i + 0.5f) / kSparkPoints,
                 origin.y + size.y - 1 - static_cast<float>(values[i] / top) * (size.y - 2)};
  }
  draw->AddPolyline(points, kSparkPoints, palette::kHeap.imgui(), 0, 1.5f);
}

}  // namespace

void drawCompare(const TraceModel& m, const TimelineState& timeline, CompareState& s) {
  double from = timeline.hasSelection() ? timeline.selectionStart : 0;
  double to = timeline.hasSelection() ? timeline.selectionEnd : m.analysis.summary.durationS;
  if (s.generation != m.generation || s.from != from || s.to != to) {
    s.comparison = analysis::compareTimes(m.analysis, from, to);
    s.generation = m.generation;
    s.from = from;
    s.to = to;
  }
  const analysis::Comparison& c = s.comparison;
  ImGui::Text("from %s to %s: %s net, %s allocated, %s freed, %zu sites changed",
              formatSeconds(c.fromS).c_str(), formatSeconds(c.toS).c_str(),
              formatSignedBytes(c.netBytes).c_str(), formatBytes(c.addedBytes).c_str(),
              formatBytes(c.removedBytes).c_str(), c.sites.size());
  if (!timeline.hasSelection()) {
    ImGui::SameLine();
    ImGui::TextDisabled("(the whole run: right-drag on the timeline to compare two times)");
  }
  ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                          ImGuiTableFlags_Resizable | ImGuiTableFlags_BordersInnerV;
  if (!ImGui::BeginTable("compare", 7, flags)) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  for (const char* name : {"net", "net blocks", "added", "removed", "live after"}) {
    ImGui::TableSetupColumn(name, ImGuiTableColumnFlags_WidthFixed, 75);
  }
  ImGui::TableSetupColumn("live over the run", ImGuiTableColumnFlags_WidthFixed, 120);
  ImGui::TableSetupColumn("site", ImGuiTableColumnFlags_WidthStretch);
  ImGui::TableHeadersRow();
  ImGuiListClipper clipper;
  clipper.Begin(static_cast<int>(c.sites.size()));
  while (clipper.Step()) {
    for (int row = clipper.DisplayStart; row < clipper.DisplayEnd; ++row) {
      const analysis::SiteChange& change = c.sites[row];
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      int64_t net = change.netBytes();
      ImU32 colour = net > 0   ? palette::kGrowth.imgui()
                     : net < 0 ? palette::kShrink.imgui()
                               : ImGui::GetColorU32(ImGuiCol_Text);
      ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(colour), "%s",
                         formatSignedBytes(net).c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%+lld", static_cast<long long>(change.netBlocks));
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(formatBytes(change.addedBytes).c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(formatBytes(change.removedBytes).c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(formatBytes(change.bytesAfter).c_str());
      ImGui::TableNextColumn();
      sparkline(m, *change.site, c.fromS, c.toS);
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(siteName(*change.site).c_str());
      if (ImGui::IsItemHovered()) {
        ImGui::BeginTooltip();
        for (const auto& f : change.site->frames) {
          ImGui::Text("%s  %s:%d", f.function.c_str(), f.file.c_str(), f.line);
        }
        ImGui::EndTooltip();
      }
    }
  }
  ImGui::EndTable();
}

}  // namespace tidemark::viewer
