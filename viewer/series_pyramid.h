// A time series summarised at every power-of-two resolution, so that any zoom level is
// drawn one column per pixel from about as many summaries as there are pixels: a run of
// a day draws as fast as a run of a second. Built once, off the UI thread; immutable.
#pragma once

#include <cstddef>
#include <vector>

#include "plot_math.h"

namespace tidemark::viewer {

class SeriesPyramid {
 public:
  SeriesPyramid() = default;
  // `times` sorted ascending, one value per time.
  SeriesPyramid(std::vector<double> times, std::vector<double> values);

  // downsample()'s contract: `count` columns over [t0, t1], each with the min, max and
  // last value of its points. Where many points fall in a column, whole summaries are
  // used and a summary lands in the column of its first point, so an extreme may move
  // by at most one column; with few points the result equals downsample().
  std::vector<Column> columns(double t0, double t1, int count) const;

  // The last value at or before t (the value a step plot shows there); 0 before any.
  double valueAt(double t) const;
  double maxValue() const { return max_; }
  size_t size() const { return times_.size(); }
  const std::vector<double>& times() const { return times_; }

 private:
  // Floats: a summary only places pixels (exact values come from the points), and a
  // day of samples at four series costs half as much.
  struct Summary {
    float min, max, last;
  };
  std::vector<double> times_, values_;
  std::vector<std::vector<Summary>> levels_;  // level k summarises 2^(k+1) points
  double max_ = 0;
};

}  // namespace tidemark::viewer
