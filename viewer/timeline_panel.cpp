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

struct Line {
  const char* name;
  palette::Rgb colour;
  const SeriesPyramid* series;
};

// A plot area and its axes.
struct Plot {
  ImVec2 origin, size;
  float left, right, upper, lower;
  Axis x, y;
};

Plot placePlot(ImVec2 origin, ImVec2 size, double t0, double t1, double top) {
  Plot p{origin, size, origin.x + 80, origin.x + size.x - 10, origin.y + 28, origin.y + size.y - 24,
         {},     {}};
  p.x = Axis{t0, t1, p.left, p.right};
  p.y = Axis{0, std::max(top, 1.0) * 1.08, p.lower, p.upper};
  return p;
}

void drawAxes(ImDrawList* draw, const Plot& p, bool bytes, const char* unit) {
  ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  ImU32 grid = ImGui::GetColorU32(ImGuiCol_Border);
  for (double t : niceTicks(0, p.y.hi, std::max(2, static_cast<int>((p.lower - p.upper) / 50)),
                            bytes ? TickUnit::Bytes : TickUnit::Plain)) {
    float py = p.y.toPixel(t);
    draw->AddLine({p.left, py}, {p.right, py}, grid);
    std::string label = bytes ? formatBytes(t) : formatCount(t) + unit;
    draw->AddText({p.origin.x + 4, py - 7}, text, label.c_str());
  }
  std::vector<double> times = niceTicks(p.x.lo, p.x.hi, 8, TickUnit::Seconds);
  for (double t : times) {
    float px = p.x.toPixel(t);
    draw->AddLine({px, p.upper}, {px, p.lower}, grid);
    std::string label = formatTick(t, times.size() > 1 ? times[1] - times[0] : 1);
    draw->AddText({px - 16, p.lower + 4}, text, label.c_str());
  }
}

void drawLine(ImDrawList* draw, const Line& line, const Plot& p, int columns) {
  auto cols = line.series->columns(p.x.lo, p.x.hi, columns);
  std::vector<ImVec2> points;
  for (int c = 0; c < columns; ++c) {
    if (cols[c].empty) continue;
    float px = p.left + c + 0.5f;
    // A column with several points is a vertical bar from its min to its max.
    if (cols[c].max > cols[c].min) {
      draw->AddLine({px, p.y.toPixel(cols[c].min)}, {px, p.y.toPixel(cols[c].max)},
                    line.colour.imgui(), 2);
    }
    points.push_back({px, p.y.toPixel(cols[c].last)});
  }
  if (points.size() >= 2) {
    draw->AddPolyline(points.data(), static_cast<int>(points.size()), line.colour.imgui(), 0, 2.5f);
  } else if (points.size() == 1) {
    draw->AddCircleFilled(points[0], 3, line.colour.imgui());
  }
}

// Stacked areas: per column, each layer fills from the layer below to its upper edge,
// holding the last value until the next point (the histories are step functions). Runs
// of columns with the same edges are one rectangle.
void drawStackedSites(ImDrawList* draw, const TraceModel& m, const Plot& p, int columns) {
  std::vector<float> below(columns, p.y.toPixel(0)), edge(columns);
  for (size_t i = 0; i < m.topSites.size(); ++i) {
    auto cols = m.topSites[i].upper.columns(p.x.lo, p.x.hi, columns);
    double value = m.topSites[i].upper.valueAt(p.x.lo);
    for (int c = 0; c < columns; ++c) {
      if (!cols[c].empty) value = cols[c].last;
      edge[c] = p.y.toPixel(value);
    }
    ImU32 colour = palette::kSites[i % palette::kSites.size()].imgui(0.55f);
    int start = 0;
    for (int c = 1; c <= columns; ++c) {
      if (c < columns && edge[c] == edge[start] && below[c] == below[start]) continue;
      draw->AddRectFilled({p.left + start, edge[start]}, {p.left + c, below[start]}, colour);
      start = c;
    }
    below.swap(edge);
  }
}

void drawLegend(ImDrawList* draw, const Plot& p, const std::vector<Line>& lines,
                bool stackedSites) {
  ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
  float lx = p.left;
  auto entry = [&](ImU32 colour, const char* name) {
    draw->AddRectFilled({lx, p.origin.y + 8}, {lx + 14, p.origin.y + 20}, colour);
    draw->AddText({lx + 18, p.origin.y + 6}, text, name);
    lx += 30 + ImGui::CalcTextSize(name).x;
  };
  for (const auto& line : lines) entry(line.colour.imgui(), line.name);
  if (stackedSites) entry(palette::kSites[0].imgui(0.55f), "top sites (stacked)");
}

void drawMarkers(ImDrawList* draw, const analysis::Analysis& a, const Plot& p) {
  for (const auto& s : a.snapshots) {
    float px = p.x.toPixel(s.timeS);
    draw->AddLine({px, p.upper}, {px, p.lower}, palette::kSnapshot.imgui(), 1);
  }
  // A snapshot asked for that has no result (its reason is in the leaks view).
  for (const auto& f : a.failedSnapshots) {
    float px = p.x.toPixel(f.timeS);
    draw->AddLine({px, p.upper}, {px, p.lower}, palette::kLost.imgui(), 1);
    draw->AddText({px + 3, p.lower - ImGui::GetTextLineHeight() - 2}, palette::kLost.imgui(),
                  "snapshot failed");
  }
  for (const auto& mark : a.marks) {
    float px = p.x.toPixel(mark.timeS);
    draw->AddLine({px, p.upper}, {px, p.lower}, palette::kMark.imgui(), 1);
    draw->AddText({px + 3, p.upper + 2}, palette::kMark.imgui(), mark.label.c_str());
  }
}

void drawCursor(ImDrawList* draw, const TimelineState& state, const Plot& p) {
  if (state.cursor < p.x.lo || state.cursor > p.x.hi) return;
  float px = p.x.toPixel(state.cursor);
  draw->AddLine({px, p.upper}, {px, p.lower}, palette::kCursor.imgui(), 2);
}

void drawSelection(ImDrawList* draw, const TimelineState& state, const Plot& p) {
  if (!state.hasSelection()) return;
  float x0 = std::max(p.left, p.x.toPixel(state.selectionStart));
  float x1 = std::min(p.right, p.x.toPixel(state.selectionEnd));
  if (x1 <= x0) return;
  draw->AddRectFilled({x0, p.upper}, {x1, p.lower}, palette::kSelection.imgui(0.18f));
  draw->AddLine({x0, p.upper}, {x0, p.lower}, palette::kSelection.imgui(), 1);
  draw->AddLine({x1, p.upper}, {x1, p.lower}, palette::kSelection.imgui(), 1);
}

void tooltip(const TraceModel& m, double at) {
  ImGui::BeginTooltip();
  ImGui::Text("%s", formatSeconds(at).c_str());
  auto heap = static_cast<uint64_t>(m.heap.valueAt(at));
  ImGui::Text("live heap %s (%llu bytes)", formatBytes(heap).c_str(),
              static_cast<unsigned long long>(heap));
  ImGui::Text("RSS %s", formatBytes(m.rss.valueAt(at)).c_str());
  ImGui::Text("allocations %s/s", formatCount(m.allocationRate.valueAt(at)).c_str());
  double below = 0;
  for (const auto& layer : m.topSites) {
    double upper = layer.upper.valueAt(at);
    ImGui::Text("  %s  %s", formatBytes(upper - below).c_str(), layer.label.c_str());
    below = upper;
  }
  ImGui::EndTooltip();
}

void handleInput(const TraceModel& m, TimelineState& state, const Plot& p, double duration) {
  ImGuiIO& io = ImGui::GetIO();
  if (!ImGui::IsItemHovered()) return;
  double at = p.x.toValue(io.MousePos.x);
  if (io.MouseWheel != 0) {
    double scale = io.MouseWheel > 0 ? 0.8 : 1.25;
    state.viewStart = std::max(0.0, at - (at - state.viewStart) * scale);
    state.viewEnd = std::min(duration, at + (state.viewEnd - at) * scale);
    state.pinnedToEnd = false;
  }
  if (ImGui::IsMouseDragging(ImGuiMouseButton_Left)) {
    double shift = -io.MouseDelta.x / (p.right - p.left) * (state.viewEnd - state.viewStart);
    shift = std::clamp(shift, -state.viewStart, duration - state.viewEnd);
    state.viewStart += shift;
    state.viewEnd += shift;
    state.pinnedToEnd = false;
  }
  double clamped = std::clamp(at, 0.0, duration);
  // A click, not a drag: the cursor.
  if (ImGui::IsMouseReleased(ImGuiMouseButton_Left) && io.MouseDragMaxDistanceSqr[0] < 9) {
    state.cursor = clamped;
  }
  if (ImGui::IsMouseClicked(ImGuiMouseButton_Right)) {
    state.selectionStart = state.selectionEnd = clamped;  // a click alone clears
  } else if (ImGui::IsMouseDragging(ImGuiMouseButton_Right)) {
    double anchor = p.x.toValue(io.MouseClickedPos[ImGuiMouseButton_Right].x);
    state.selectionStart = std::clamp(std::min(anchor, at), 0.0, duration);
    state.selectionEnd = std::clamp(std::max(anchor, at), 0.0, duration);
  }
  if (io.MousePos.x >= p.left && io.MousePos.x <= p.right) tooltip(m, clamped);
}

}  // namespace

void drawTimeline(const TraceModel& m, TimelineState& state) {
  const analysis::Analysis& a = m.analysis;
  double duration = std::max(a.summary.durationS, 1e-3);
  if (state.viewEnd <= state.viewStart) {
    state.viewStart = 0;
    state.viewEnd = duration;
  }
  if (state.pinnedToEnd) state.viewEnd = duration;  // following: the start stays put
  if (state.hasSelection()) {
    ImGui::Text("selection %s .. %s (%s)", formatSeconds(state.selectionStart).c_str(),
                formatSeconds(state.selectionEnd).c_str(),
                formatSeconds(state.selectionEnd - state.selectionStart).c_str());
  } else {
    ImGui::TextDisabled("click: the call tree's time; right-drag: a range for the other views");
  }

  std::vector<Line> lines{{"RSS", palette::kRss, &m.rss},
                          {"live heap", palette::kHeap, &m.heap},
                          {"lost (snapshots)", palette::kLost, &m.lost}};
  double top = 1;
  for (const auto& line : lines) top = std::max(top, line.series->maxValue());

  ImVec2 origin = ImGui::GetCursorScreenPos();
  ImVec2 avail = ImGui::GetContentRegionAvail();
  float rateHeight = std::max(80.0f, avail.y * 0.22f);
  ImVec2 size{avail.x, std::max(avail.y - rateHeight, 120.0f)};
  ImGui::InvisibleButton("timeline", size,
                         ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  Plot p = placePlot(origin, size, state.viewStart, state.viewEnd, top);
  drawAxes(draw, p, true, "");
  int columns = std::max(1, static_cast<int>(p.right - p.left));
  draw->PushClipRect({p.left, p.upper}, {p.right + 1, p.lower + 1}, true);
  drawStackedSites(draw, m, p, columns);
  drawMarkers(draw, a, p);
  for (const auto& line : lines) drawLine(draw, line, p, columns);
  drawSelection(draw, state, p);
  drawCursor(draw, state, p);
  draw->PopClipRect();
  drawLegend(draw, p, lines, !m.topSites.empty());
  handleInput(m, state, p, duration);

  // The allocation rate, on the same time axis.
  ImVec2 rateOrigin = ImGui::GetCursorScreenPos();
  ImVec2 rateSize{avail.x, rateHeight - ImGui::GetStyle().ItemSpacing.y};
  ImGui::InvisibleButton("rate", rateSize);
  Plot r =
      placePlot(rateOrigin, rateSize, state.viewStart, state.viewEnd, m.allocationRate.maxValue());
  drawAxes(draw, r, false, "/s");
  draw->PushClipRect({r.left, r.upper}, {r.right + 1, r.lower + 1}, true);
  drawLine(draw, {"allocations/s", palette::kRate, &m.allocationRate}, r, columns);
  drawSelection(draw, state, r);
  draw->PopClipRect();
  drawLegend(draw, r, {{"allocation calls per second", palette::kRate, &m.allocationRate}}, false);
}

}  // namespace tidemark::viewer
