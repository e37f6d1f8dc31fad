// Sites table (see sites_panel.h).
#include "sites_panel.h"

#include <imgui.h>

#include <algorithm>
#include <string>

#include "plot_math.h"

namespace tidemark::viewer {
namespace {

const std::string& topFunction(const analysis::Site& s) {
  static const std::string unknown = "(unknown)";
  return s.frames.empty() ? unknown : s.frames.front().function;
}

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

}  // namespace

void drawSites(const analysis::Analysis& a, SitesState& state) {
  if (ImGui::InputTextWithHint("##filter", "filter: function, file or module", state.filter,
                               sizeof state.filter)) {
    state.dirty = true;
  }
  ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_RowBg |
                          ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable |
                          ImGuiTableFlags_BordersInnerV;
  if (!ImGui::BeginTable("sites", 5, flags)) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  constexpr ImGuiTableColumnFlags kNumber =
      ImGuiTableColumnFlags_PreferSortDescending | ImGuiTableColumnFlags_WidthFixed;
  ImGui::TableSetupColumn("leaked", kNumber | ImGuiTableColumnFlags_DefaultSort, 90);
  ImGui::TableSetupColumn("peak", kNumber, 90);
  ImGui::TableSetupColumn("allocations", kNumber, 90);
  ImGui::TableSetupColumn("allocated", kNumber, 90);
  ImGui::TableSetupColumn("allocated at",
                          ImGuiTableColumnFlags_NoSort | ImGuiTableColumnFlags_WidthStretch);
  ImGui::TableHeadersRow();

  ImGuiTableSortSpecs* sort = ImGui::TableGetSortSpecs();
  if (state.dirty || (sort && sort->SpecsDirty)) {
    state.order.clear();
    for (int i = 0; i < static_cast<int>(a.sites.size()); ++i) {
      if (matches(a.sites[i], state.filter)) state.order.push_back(i);
    }
    int column = sort && sort->SpecsCount ? sort->Specs[0].ColumnIndex : 0;
    bool ascending =
        sort && sort->SpecsCount && sort->Specs[0].SortDirection == ImGuiSortDirection_Ascending;
    auto key = [&](int i) {
      const auto& s = a.sites[i];
      uint64_t keys[] = {s.leakedBytes, s.peakBytes, s.allocations, s.allocatedBytes};
      return keys[std::min(column, 3)];
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
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(topFunction(s).c_str());
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
