// Leaks view (see leaks_panel.h).
#include "leaks_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>

#include "leak_classes.h"
#include "leak_growth.h"
#include "palette.h"
#include "plot_math.h"

namespace tidemark::viewer {
namespace {

using analysis::LeakKind;

constexpr LeakKind kLostKinds[] = {LeakKind::Definite, LeakKind::Indirect, LeakKind::Possible};

palette::Rgb colourOf(LeakKind kind) {
  return kind == LeakKind::Definite   ? palette::kLost
         : kind == LeakKind::Indirect ? palette::kIndirect
                                      : palette::kPossible;
}

// One stacked bar per snapshot at its time: definite at the bottom, then indirect, then
// possibly lost.
void leakTimeline(const analysis::Analysis& a, const TimelineState& t, float height) {
  ImVec2 origin = ImGui::GetCursorScreenPos();
  float width = ImGui::GetContentRegionAvail().x;
  ImGui::Dummy({width, height});
  ImDrawList* draw = ImGui::GetWindowDrawList();
  double top = 1;
  for (const auto& s : a.snapshots) {
    double lost = 0;
    for (LeakKind k : kLostKinds) lost += s.bytes[static_cast<int>(k)];
    top = std::max(top, lost);
  }
  Axis x{0, std::max(a.summary.durationS, 1e-3), origin.x + 80, origin.x + width - 10};
  Axis y{0, top * 1.1, origin.y + height - 4, origin.y + 4};
  ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  draw->AddText({origin.x + 4, y.toPixel(top) - 7}, text, formatBytes(top).c_str());
  draw->AddText({origin.x + 4, y.pixelLo - 14}, text, "0 B");
  draw->AddLine({x.pixelLo, y.pixelLo}, {x.pixelHi, y.pixelLo},
                ImGui::GetColorU32(ImGuiCol_Border));
  if (t.hasSelection()) {
    draw->AddRectFilled({x.toPixel(t.selectionStart), y.pixelHi},
                        {x.toPixel(t.selectionEnd), y.pixelLo}, palette::kSelection.imgui(0.18f));
  }
  float barWidth =
      std::clamp((x.pixelHi - x.pixelLo) / (a.snapshots.size() * 2.0f + 1), 2.0f, 24.0f);
  for (const auto& s : a.snapshots) {
    float px = x.toPixel(s.timeS);
    double below = 0;
    for (LeakKind k : kLostKinds) {
      double bytes = s.bytes[static_cast<int>(k)];
      if (bytes > 0) {
        draw->AddRectFilled({px - barWidth / 2, y.toPixel(below + bytes)},
                            {px + barWidth / 2, y.toPixel(below)}, colourOf(k).imgui());
      }
      below += bytes;
    }
  }
}

void snapshotTable(const analysis::Analysis& a, const TimelineState& t, int chosen,
                   LeaksState& state, float height) {
  ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY |
                          ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit;
  if (!ImGui::BeginTable("snapshots", 8, flags, {0, height})) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  for (const char* name :
       {"#", "time", "trigger", "pause", "definite", "indirect", "possible", "reachable"}) {
    ImGui::TableSetupColumn(name);
  }
  ImGui::TableHeadersRow();
  for (size_t i = 0; i < a.snapshots.size(); ++i) {
    const auto& s = a.snapshots[i];
    ImGui::TableNextRow();
    bool inRange = t.hasSelection() && s.timeS >= t.selectionStart && s.timeS <= t.selectionEnd;
    if (inRange) {
      ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg1, palette::kSelection.imgui(0.18f));
    }
    ImGui::TableNextColumn();
    // The row picks the snapshot whose groups are listed below.
    char label[48];
    snprintf(label, sizeof label, "%u%s", s.id + 1, s.complete ? "" : " (incomplete)");
    if (ImGui::Selectable(label, static_cast<int>(i) == chosen,
                          ImGuiSelectableFlags_SpanAllColumns)) {
      state.snapshot = static_cast<int>(i);
    }
    if (!s.complete && ImGui::IsItemHovered()) {
      ImGui::SetTooltip("%s", analysis::incompleteText(s).c_str());
    }
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(formatSeconds(s.timeS).c_str());
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(s.trigger.c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%.1f ms", s.pauseMs);
    for (LeakKind k :
         {LeakKind::Definite, LeakKind::Indirect, LeakKind::Possible, LeakKind::Reachable}) {
      ImGui::TableNextColumn();
      int i = static_cast<int>(k);
      ImGui::Text("%s / %llu", formatBytes(s.bytes[i]).c_str(),
                  static_cast<unsigned long long>(s.blocks[i]));
    }
  }
  ImGui::EndTable();
}

// ", +1.2 KiB per second since" or ", unchanged since": whether a group goes on growing
// up to the snapshot at `nowS`; empty where that snapshot is the group's first.
std::string growthSince(const analysis::LeakGroup& group, double nowS) {
  auto growth = analysis::growthSinceFirstSeen(group, nowS);
  if (!growth) return "";
  if (growth->change == 0) return ", unchanged since";
  return ", " + formatSignedBytes(static_cast<int64_t>(growth->bytesPerUnit)) + " per " +
         growth->unit + " since";
}

// The groups of the snapshot at `nowS`; frames come with the reported snapshot's groups,
// and from the site of the same stack for the others.
void leakGroups(const TraceModel& m, const std::vector<analysis::LeakGroup>& groups, double nowS) {
  static const std::vector<analysis::Frame> none;
  auto framesOf = [&](const analysis::LeakGroup& g) -> const std::vector<analysis::Frame>& {
    if (!g.frames.empty()) return g.frames;
    auto site = m.siteByStack.find(g.stack);
    return site == m.siteByStack.end() ? none : site->second->frames;
  };
  for (size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    const auto& frames = framesOf(g);
    const char* top = frames.empty() ? "(unknown)" : frames.front().function.c_str();
    ImGui::PushID(static_cast<int>(i));
    bool lost = g.kind == LeakKind::Definite || g.kind == LeakKind::Indirect;
    if (lost) ImGui::PushStyleColor(ImGuiCol_Text, colourOf(g.kind).imgui());
    bool open = ImGui::TreeNode(
        "group", "%s %s in %llu blocks, first lost at %s%s: %s", analysis::leakKindName(g.kind),
        formatBytes(g.bytes).c_str(), static_cast<unsigned long long>(g.blocks),
        formatSeconds(g.firstSeenS).c_str(), growthSince(g, nowS).c_str(), top);
    if (lost) ImGui::PopStyleColor();
    if (open) {
      if (g.kind == LeakKind::Definite && g.indirectBytes) {
        ImGui::TextDisabled("leak root: holds %s indirectly lost",
                            formatBytes(g.indirectBytes).c_str());
      }
      if (g.kind == LeakKind::Indirect) {
        // The retainer: the definitely lost blocks (by their stack) that hold these.
        auto root = std::find_if(groups.begin(), groups.end(), [&](const auto& r) {
          return r.kind == LeakKind::Definite && r.stack == g.retainedByStack;
        });
        if (root != groups.end() && !framesOf(*root).empty()) {
          ImGui::TextDisabled("held by the lost blocks of %s",
                              framesOf(*root).front().function.c_str());
        }
      }
      for (const auto& f : frames) {
        ImGui::Text("%s  %s:%d%s", f.function.c_str(), f.file.c_str(), f.line,
                    f.inlined ? " [inlined]" : "");
      }
      ImGui::TreePop();
    }
    ImGui::PopID();
  }
}

// Snapshots asked for that have no result, in red: the view may show an older one than
// the user expects.
void failedSnapshotsLine(const analysis::Analysis& a) {
  if (a.failedSnapshots.empty()) return;
  const analysis::FailedSnapshot& last = a.failedSnapshots.back();
  size_t n = a.failedSnapshots.size();
  ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(palette::kLost.imgui()),
                     "%zu snapshot%s failed; the last, #%u at %s (%s): %s", n, n == 1 ? "" : "s",
                     last.id + 1, formatSeconds(last.timeS).c_str(), last.trigger.c_str(),
                     last.reason.c_str());
}

// Memory the snapshot's scan read as zeros: the user who wonders why a pointer kept
// there did not count sees where it was (the program cannot read it either).
void unreadableLine(const analysis::SnapshotSummary& s) {
  if (s.unreadable.empty()) return;
  uint64_t bytes = 0;
  for (const auto& u : s.unreadable) bytes += u.bytes;
  const analysis::UnreadableMemory& first = s.unreadable.front();
  size_t n = s.unreadable.size();
  ImGui::Text("Read as zeros: %s the program cannot read, in %zu range%s; the first (%s) in %s",
              formatBytes(bytes).c_str(), n, n == 1 ? "" : "s", first.signal.c_str(),
              first.mapping.c_str());
}

}  // namespace

void drawLeaks(const TraceModel& m, const TimelineState& timeline, LeaksState& state) {
  const analysis::Analysis& a = m.analysis;
  const analysis::SnapshotSummary* reported = a.reportedSnapshot();
  if (!reported) {
    ImGui::TextUnformatted(
        a.failedSnapshots.empty()
            ? "This trace has no heap-graph snapshot (tidemark record takes one at exit)."
            : "No heap-graph snapshot of this trace finished.");
    failedSnapshotsLine(a);
    return;
  }
  int chosen = state.snapshot >= 0 && state.snapshot < static_cast<int>(a.snapshots.size())
                   ? state.snapshot
                   : static_cast<int>(reported - a.snapshots.data());
  const analysis::SnapshotSummary* s = &a.snapshots[chosen];
  ImGui::Text("Snapshot %u of %zu at %s (%s), paused %.1f ms, scanned in %.1f ms", s->id + 1,
              a.snapshots.size() + a.failedSnapshots.size(), formatSeconds(s->timeS).c_str(),
              s->trigger.c_str(), s->pauseMs, s->scanMs);
  failedSnapshotsLine(a);
  unreadableLine(*s);
  for (auto kind :
       {LeakKind::Definite, LeakKind::Indirect, LeakKind::Possible, LeakKind::Reachable}) {
    int k = static_cast<int>(kind);
    ImGui::Text("  %-10s %12s in %llu blocks", analysis::leakKindName(kind),
                formatBytes(s->bytes[k]).c_str(), static_cast<unsigned long long>(s->blocks[k]));
  }
  float avail = ImGui::GetContentRegionAvail().y;
  leakTimeline(a, timeline, std::max(60.0f, avail * 0.22f));
  snapshotTable(a, timeline, chosen, state, std::max(60.0f, avail * 0.22f));
  ImGui::Separator();
  ImGui::BeginChild("groups");
  leakGroups(m, s == reported ? a.leaks : s->groups, s->timeS);
  ImGui::EndChild();
}

}  // namespace tidemark::viewer
