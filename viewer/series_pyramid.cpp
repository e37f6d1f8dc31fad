// Multi-resolution series (see series_pyramid.h).
#include "series_pyramid.h"

#include <algorithm>

namespace tidemark::viewer {

SeriesPyramid::SeriesPyramid(std::vector<double> times, std::vector<double> values)
    : times_(std::move(times)), values_(std::move(values)) {
  values_.resize(times_.size());
  for (double v : values_) max_ = std::max(max_, v);
  // Level 0 pairs points; each further level pairs the summaries below it.
  auto pairUp = [](const std::vector<Summary>& below) {
    std::vector<Summary> level;
    level.reserve(below.size() / 2);
    for (size_t i = 0; i + 1 < below.size(); i += 2) {
      const Summary &a = below[i], &b = below[i + 1];
      level.push_back({std::min(a.min, b.min), std::max(a.max, b.max), b.last});
    }
    return level;
  };
  std::vector<Summary> points;
  points.reserve(values_.size());
  for (double v : values_) {
    auto f = static_cast<float>(v);
    points.push_back({f, f, f});
  }
  if (points.size() >= 2) levels_.push_back(pairUp(points));
  while (!levels_.empty() && levels_.back().size() >= 2) {
    auto next = pairUp(levels_.back());
    levels_.push_back(std::move(next));
  }
}

std::vector<Column> SeriesPyramid::columns(double t0, double t1, int count) const {
  std::vector<Column> out(std::max(count, 0));
  if (count <= 0 || !(t1 > t0)) return out;
  size_t lo = std::lower_bound(times_.begin(), times_.end(), t0) - times_.begin();
  size_t hi = std::upper_bound(times_.begin(), times_.end(), t1) - times_.begin();
  auto add = [&](double time, double min, double max, double last) {
    int c = std::clamp(static_cast<int>((time - t0) / (t1 - t0) * count), 0, count - 1);
    Column& column = out[c];
    if (column.empty) {
      column.min = min;
      column.max = max;
      column.empty = false;
    }
    column.min = std::min(column.min, min);
    column.max = std::max(column.max, max);
    column.last = last;
  };
  auto addPoints = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) add(times_[i], values_[i], values_[i], values_[i]);
  };
  // The coarsest level whose summaries still give each column two or more of them.
  size_t points = hi - lo;
  int level = -1;
  while (level + 1 < static_cast<int>(levels_.size()) &&
         (size_t{2} << (level + 1)) * 2 * count <= points) {
    ++level;
  }
  if (level < 0) {
    addPoints(lo, hi);
    return out;
  }
  size_t span = size_t{2} << level;                         // points per summary
  size_t first = (lo + span - 1) / span, last = hi / span;  // whole summaries in range
  size_t headEnd = std::min(hi, first * span);
  addPoints(lo, headEnd);
  for (size_t s = first; s < last && s < levels_[level].size(); ++s) {
    const Summary& summary = levels_[level][s];
    add(times_[s * span], summary.min, summary.max, summary.last);
  }
  addPoints(std::max(headEnd, last * span), hi);
  return out;
}

double SeriesPyramid::valueAt(double t) const {
  auto after = std::upper_bound(times_.begin(), times_.end(), t);
  return after == times_.begin() ? 0 : values_[after - times_.begin() - 1];
}

}  // namespace tidemark::viewer
