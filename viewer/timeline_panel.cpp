// Timeline drawing on ImDrawList (see timeline_panel.h).
#include "timeline_panel.h"

#include <imgui.h>

#include <algorithm>
#include <string>
#include <vector>

#include "palette.h"
#include "plot_math.h"

namespace tidemark::viewer {
namespace {

struct Series {
  const char* name;
  palette::Rgb colour;
  std::vector<double> times, values;
};

std::vector<Series> seriesOf(const analysis::Analysis& a) {
  Series heap{"live heap", palette::kHeap, {}, {}};
  Series rss{"RSS", palette::kRss, {}, {}};
  for (const auto& p : a.timeline) {
    heap.times.push_back(p.timeUs / 1e6);
    heap.values.push_back(static_cast<double>(p.heapBytes));
    rss.times.push_back(p.timeUs / 1e6);
    rss.values.push_back(static_cast<double>(p.rssBytes));
  }
  Series lost{"lost (snapshots)", palette::kLost, {}, {}};
  for (const auto& s : a.snapshots) {
    lost.times.push_back(s.timeS);
    lost.values.push_back(
        static_cast<double>(s.bytes[static_cast<int>(analysis::LeakKind::Definite)] +
                            s.bytes[static_cast<int>(analysis::LeakKind::Indirect)]));
  }
  return {rss, heap, lost};
}

void drawSeries(ImDrawList* draw, const Series& s, const Axis& x, const Axis& y, double t0,
                double t1, int columns) {
  auto cols = downsample(s.times, s.values, t0, t1, columns);
  std::vector<ImVec2> line;
  for (int c = 0; c < columns; ++c) {
    if (cols[c].empty) continue;
    float px = x.pixelLo + c + 0.5f;
    // A column with several points is a vertical bar from its min to its max.
    if (cols[c].max > cols[c].min) {
      draw->AddLine({px, y.toPixel(cols[c].min)}, {px, y.toPixel(cols[c].max)}, s.colour.imgui(),
                    2);
    }
    line.push_back({px, y.toPixel(cols[c].last)});
  }
  if (line.size() >= 2) {
    draw->AddPolyline(line.data(), static_cast<int>(line.size()), s.colour.imgui(), 0, 2.5f);
  } else if (line.size() == 1) {
    draw->AddCircleFilled(line[0], 3, s.colour.imgui());
  }
}

}  // namespace

void drawTimeline(const analysis::Analysis& a, TimelineState& state) {
  std::vector<Series> series = seriesOf(a);
  double duration = std::max(a.summary.durationS, 1e-3);
  if (state.viewEnd <= state.viewStart) {
    state.viewStart = 0;
    state.viewEnd = duration;
  }
  double top = 1;
  for (const auto& s : series) {
    for (double v : s.values) top = std::max(top, v);
  }

  ImVec2 origin = ImGui::GetCursorScreenPos();
  ImVec2 size = ImGui::GetContentRegionAvail();
  size.y = std::max(size.y, 120.0f);
  ImGui::InvisibleButton("timeline", size);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float left = origin.x + 80, right = origin.x + size.x - 10;
  const float upper = origin.y + 28, lower = origin.y + size.y - 28;
  Axis x{state.viewStart, state.viewEnd, left, right};
  Axis y{0, top * 1.08, lower, upper};
  ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  ImU32 grid = ImGui::GetColorU32(ImGuiCol_Border);

  for (double t : niceTicks(0, y.hi, 6, true)) {
    float py = y.toPixel(t);
    draw->AddLine({left, py}, {right, py}, grid);
    std::string label = formatBytes(t);
    draw->AddText({origin.x + 4, py - 7}, text, label.c_str());
  }
  for (double t : niceTicks(x.lo, x.hi, 8, false)) {
    float px = x.toPixel(t);
    draw->AddLine({px, upper}, {px, lower}, grid);
    std::string label = formatSeconds(t);
    draw->AddText({px - 16, lower + 6}, text, label.c_str());
  }
  draw->PushClipRect({left, upper}, {right + 1, lower + 1}, true);
  for (const auto& s : a.snapshots) {
    float px = x.toPixel(s.timeS);
    draw->AddLine({px, upper}, {px, lower}, palette::kSnapshot.imgui(), 1);
  }
  for (const auto& m : a.marks) {
    float px = x.toPixel(m.timeS);
    draw->AddLine({px, upper}, {px, lower}, palette::kMark.imgui(), 1);
    draw->AddText({px + 3, upper + 2}, palette::kMark.imgui(), m.label.c_str());
  }
  int columns = std::max(1, static_cast<int>(right - left));
  for (const auto& s : series) drawSeries(draw, s, x, y, x.lo, x.hi, columns);
  draw->PopClipRect();

  // Legend.
  float lx = left;
  for (const auto& s : series) {
    draw->AddRectFilled({lx, origin.y + 8}, {lx + 14, origin.y + 20}, s.colour.imgui());
    draw->AddText({lx + 18, origin.y + 6}, text, s.name);
    lx += 30 + ImGui::CalcTextSize(s.name).x;
  }

  // Zoom with the wheel around the pointer, pan by dragging.
  ImGuiIO& io = ImGui::GetIO();
  if (ImGui::IsItemHovered()) {
    double at = x.toValue(io.MousePos.x);
    if (io.MouseWheel != 0) {
      double scale = io.MouseWheel > 0 ? 0.8 : 1.25;
      state.viewStart = std::max(0.0, at - (at - state.viewStart) * scale);
      state.viewEnd = std::min(duration, at + (state.viewEnd - at) * scale);
    }
    if (ImGui::IsMouseDragging(ImGuiMouseButton_Left)) {
      double shift = -io.MouseDelta.x / (right - left) * (state.viewEnd - state.viewStart);
      shift = std::clamp(shift, -state.viewStart, duration - state.viewEnd);
      state.viewStart += shift;
      state.viewEnd += shift;
    }
    // The sample nearest the pointer, with exact values.
    const auto& points = a.timeline;
    auto nearest =
        std::min_element(points.begin(), points.end(), [&](const auto& p, const auto& q) {
          return std::abs(p.timeUs / 1e6 - at) < std::abs(q.timeUs / 1e6 - at);
        });
    if (nearest != points.end() && io.MousePos.x >= left && io.MousePos.x <= right) {
      ImGui::BeginTooltip();
      ImGui::Text("%s", formatSeconds(nearest->timeUs / 1e6).c_str());
      ImGui::Text("live heap %s (%llu bytes)", formatBytes(nearest->heapBytes).c_str(),
                  static_cast<unsigned long long>(nearest->heapBytes));
      ImGui::Text("RSS %s", formatBytes(nearest->rssBytes).c_str());
      ImGui::Text("allocations %llu", static_cast<unsigned long long>(nearest->allocations));
      ImGui::EndTooltip();
    }
  }
}

}  // namespace tidemark::viewer
