// Leaks view (see leaks_panel.h).
#include "leaks_panel.h"

#include <imgui.h>

#include "leak_classes.h"
#include "palette.h"
#include "plot_math.h"

namespace tidemark::viewer {

void drawLeaks(const analysis::Analysis& a) {
  const analysis::SnapshotSummary* s = a.reportedSnapshot();
  if (!s) {
    ImGui::TextUnformatted(
        "This trace has no heap-graph snapshot (tidemark record takes one at exit).");
    return;
  }
  ImGui::Text("Snapshot %u of %zu at %s (%s), paused %.1f ms, scanned in %.1f ms", s->id + 1,
              a.snapshots.size(), formatSeconds(s->timeS).c_str(), s->trigger.c_str(), s->pauseMs,
              s->scanMs);
  for (auto kind : {analysis::LeakKind::Definite, analysis::LeakKind::Indirect,
                    analysis::LeakKind::Possible, analysis::LeakKind::Reachable}) {
    int k = static_cast<int>(kind);
    ImGui::Text("  %-10s %12s in %llu blocks", analysis::leakKindName(kind),
                formatBytes(s->bytes[k]).c_str(), static_cast<unsigned long long>(s->blocks[k]));
  }
  ImGui::Separator();
  for (size_t i = 0; i < a.leaks.size(); ++i) {
    const auto& g = a.leaks[i];
    const char* top = g.frames.empty() ? "(unknown)" : g.frames.front().function.c_str();
    ImGui::PushID(static_cast<int>(i));
    bool lost = g.kind == analysis::LeakKind::Definite || g.kind == analysis::LeakKind::Indirect;
    if (lost) ImGui::PushStyleColor(ImGuiCol_Text, palette::kLost.imgui());
    bool open = ImGui::TreeNode("group", "%s %s in %llu blocks, first lost at %s: %s",
                                analysis::leakKindName(g.kind), formatBytes(g.bytes).c_str(),
                                static_cast<unsigned long long>(g.blocks),
                                formatSeconds(g.firstSeenS).c_str(), top);
    if (lost) ImGui::PopStyleColor();
    if (open) {
      for (const auto& f : g.frames) {
        ImGui::Text("%s  %s:%d%s", f.function.c_str(), f.file.c_str(), f.line,
                    f.inlined ? " [inlined]" : "");
      }
      ImGui::TreePop();
    }
    ImGui::PopID();
  }
}

}  // namespace tidemark::viewer
