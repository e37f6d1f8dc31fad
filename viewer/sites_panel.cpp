// Sites table (see sites_panel.h).
#include "sites_panel.h"

#include <imgui.h>

#include <algorithm>
#include <string>

#include "plot_math.h"
#include "site_history.h"

namespace tidemark::viewer {
namespace {

bool matches(const analysis::Site& s, const char* filter) {
  if (!*filter) return true;
  for (const auto& f : s.frames) {
    if (f.function.find(filter) != std::string::npos || f.file.find(filter) != std::string::npos ||
        f.module.find(filter) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// Recomputes the range columns when the selection or the model changed.
void updateRange(const TraceModel& m, const TimelineState& t, SitesState& s) {
  double from = t.hasSelection() ? t.selectionStart : -1;
  double to = t.hasSelection() ? t.selectionEnd : -1;
  if (s.generation == m.generation && s.from == from && s.to == to) return;
  if (s.generation != m.generation) s.dirty = true;  // new sites: new row indexes
  s.generation = m.generation;
  s.from = from;
  s.to = to;
  s.inRange.clear();
  s.range =
      t.hasSelection() ? analysis::compareTimes(m.analysis, from, to) : analysis::Comparison{};
  for (const auto& change : s.range.sites) s.inRange[change.site->stack] = &change;
  s.dirty = true;
}

}  // namespace

void drawSites(const TraceModel& m, const TimelineState& timeline, SitesState& state) {
  const analysis::Analysis& a = m.analysis;
  updateRange(m, timeline, state);
  if (ImGui::InputTextWithHint("##filter", "filter: function, file or module", state.filter,
                               sizeof state.filter)) {
    state.dirty = true;
  }
  bool range = timeline.hasSelection();
  if (range) {
    ImGui::SameLine();
    ImGui::Text("range columns: %s .. %s", formatSeconds(state.range.fromS).c_str(),
                formatSeconds(state.range.toS).c_str());
  }
  ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_RowBg |
                          ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable |
                          ImGuiTableFlags_BordersInnerV;
  if (!ImGui::BeginTable("sites", 8, flags)) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  constexpr ImGuiTableColumnFlags kNumber =
      ImGuiTableColumnFlags_PreferSortDescending | ImGuiTableColumnFlags_WidthFixed;
  ImGui::TableSetupColumn("leaked", kNumber | ImGuiTableColumnFlags_DefaultSort, 90);
  ImGui::TableSetupColumn("peak", kNumber, 90);
  ImGui::TableSetupColumn("allocations", kNumber, 90);
  ImGui::TableSetupColumn("allocated", kNumber, 90);
  ImGuiTableColumnFlags rangeFlags = kNumber | (range ? 0 : ImGuiTableColumnFlags_Disabled);
  // Headers short enough for their columns: the line above names the range.
  ImGui::TableSetupColumn("range alloc", rangeFlags, 90);
  ImGui::TableSetupColumn("range net", rangeFlags, 90);
  ImGui::TableSetupColumn("live at end", rangeFlags, 90);
  ImGui::TableSetupColumn("allocated at",
                          ImGuiTableColumnFlags_NoSort | ImGuiTableColumnFlags_WidthStretch);
  ImGui::TableHeadersRow();

  size_t rangeEnd = analysis::checkpointAt(a, timeline.selectionEnd);
  auto liveAtRangeEnd = [&](const analysis::Site& s) {
    return analysis::siteAt(s, rangeEnd).liveBytes;
  };
  auto changeOf = [&](const analysis::Site& s) -> const analysis::SiteChange* {
    auto it = state.inRange.find(s.stack);
    return it == state.inRange.end() ? nullptr : it->second;
  };
  ImGuiTableSortSpecs* sort = ImGui::TableGetSortSpecs();
  if (state.dirty || (sort && sort->SpecsDirty)) {
    state.order.clear();
    for (int i = 0; i < static_cast<int>(a.sites.size()); ++i) {
      if (matches(a.sites[i], state.filter)) state.order.push_back(i);
    }
    int column = sort && sort->SpecsCount ? sort->Specs[0].ColumnIndex : 0;
    bool ascending =
        sort && sort->SpecsCount && sort->Specs[0].SortDirection == ImGuiSortDirection_Ascending;
    auto key = [&](int i) -> double {
      const auto& s = a.sites[i];
      const analysis::SiteChange* change = changeOf(s);
      double keys[] = {double(s.leakedBytes),
                       double(s.peakBytes),
                       double(s.allocations),
                       double(s.allocatedBytes),
                       change ? double(change->addedBytes) : 0,
                       change ? double(change->netBytes()) : 0,
                       range ? double(liveAtRangeEnd(s)) : 0};
      return keys[std::min(column, 6)];
    };
    std::stable_sort(state.order.begin(), state.order.end(),
                     [&](int l, int r) { return ascending ? key(l) < key(r) : key(l) > key(r); });
    if (sort) sort->SpecsDirty = false;
    state.dirty = false;
  }

  ImGuiListClipper clipper;
  clipper.Begin(static_cast<int>(state.order.size()));
  while (clipper.Step()) {
    for (int row = clipper.DisplayStart; row < clipper.DisplayEnd; ++row) {
      const auto& s = a.sites[state.order[row]];
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(formatBytes(s.leakedBytes).c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(formatBytes(s.peakBytes).c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%llu", static_cast<unsigned long long>(s.allocations));
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(formatBytes(s.allocatedBytes).c_str());
      const analysis::SiteChange* change = changeOf(s);
      ImGui::TableNextColumn();
      if (change) ImGui::TextUnformatted(formatBytes(change->addedBytes).c_str());
      ImGui::TableNextColumn();
      if (change) ImGui::TextUnformatted(formatSignedBytes(change->netBytes()).c_str());
      ImGui::TableNextColumn();
      if (range) ImGui::TextUnformatted(formatBytes(liveAtRangeEnd(s)).c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(siteName(s).c_str());
      if (ImGui::IsItemHovered() && !s.frames.empty()) {
        ImGui::BeginTooltip();
        for (const auto& f : s.frames) {
          ImGui::Text("%s  %s:%d", f.function.c_str(), f.file.c_str(), f.line);
        }
        ImGui::EndTooltip();
      }
    }
  }
  ImGui::EndTable();
}

}  // namespace tidemark::viewer
