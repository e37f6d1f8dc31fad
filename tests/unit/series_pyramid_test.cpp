// The multi-resolution series: the same columns as plain downsampling, from a summary.
#include "series_pyramid.h"

#include <catch2/catch.hpp>
#include <cmath>

using namespace tidemark::viewer;

namespace {

// A day of samples every 100 ms: a slow wave, a sawtooth, and one spike.
void daySeries(std::vector<double>& times, std::vector<double>& values) {
  for (int i = 0; i < 864'000; ++i) {
    times.push_back(i * 0.1);
    values.push_back(1000 + 500 * std::sin(i / 5000.0) + (i % 37) + (i == 400'001 ? 1e6 : 0));
  }
}

}  // namespace

TEST_CASE("with few points per column the pyramid equals plain downsampling") {
  std::vector<double> times{0.5, 1, 1.5, 2, 3.5, 3.6, 9};
  std::vector<double> values{5, 1, 7, 3, 2, 8, 4};
  SeriesPyramid pyramid(times, values);
  for (auto [t0, t1, n] : {std::tuple{0.0, 10.0, 5}, {1.0, 3.6, 3}, {0.0, 1.0, 100}}) {
    auto expected = downsample(times, values, t0, t1, n);
    auto got = pyramid.columns(t0, t1, n);
    REQUIRE(got.size() == expected.size());
    for (size_t c = 0; c < got.size(); ++c) {
      INFO("column " << c);
      CHECK(got[c].empty == expected[c].empty);
      CHECK(got[c].min == expected[c].min);
      CHECK(got[c].max == expected[c].max);
      CHECK(got[c].last == expected[c].last);
    }
  }
  CHECK(pyramid.valueAt(0.4) == 0);
  CHECK(pyramid.valueAt(3.55) == 2);
  CHECK(pyramid.maxValue() == 8);
}

TEST_CASE("a point at the view's end is in its last column") {
  // The trace's last sample is taken as the program ends, at the time the whole-run view
  // ends: it is the run's final heap and RSS, often the peak.
  std::vector<double> times{0, 1, 2};
  std::vector<double> values{1, 2, 9};
  SeriesPyramid pyramid(times, values);
  for (const auto& columns : {downsample(times, values, 0, 2, 4), pyramid.columns(0, 2, 4)}) {
    REQUIRE(columns.size() == 4);
    CHECK_FALSE(columns[3].empty);
    CHECK(columns[3].max == 9);
    CHECK(columns[3].last == 9);
  }
  CHECK(pyramid.columns(0, 1.5, 4)[3].empty);  // beyond the view's end: left out
}

TEST_CASE("a day of samples keeps every peak and every column's envelope") {
  std::vector<double> times, values;
  daySeries(times, values);
  SeriesPyramid pyramid(times, values);
  for (auto [t0, t1] : {std::pair{0.0, 86400.0}, {39000.0, 41000.0}, {40000.05, 40000.35}}) {
    const int n = 1000;
    auto expected = downsample(times, values, t0, t1, n);
    auto got = pyramid.columns(t0, t1, n);
    double expectedMax = 0, gotMax = 0;
    for (int c = 0; c < n; ++c) {
      INFO("range " << t0 << ".." << t1 << " column " << c);
      CHECK(got[c].empty == expected[c].empty);
      if (expected[c].empty) continue;
      expectedMax = std::max(expectedMax, expected[c].max);
      gotMax = std::max(gotMax, got[c].max);
      // A summary sits in the column of its first point and may reach into the next: a
      // column's envelope lies within its own and its right neighbour's.
      const Column& next = c + 1 < n && !expected[c + 1].empty ? expected[c + 1] : expected[c];
      double lo = std::min(expected[c].min, next.min);
      double hi = std::max(expected[c].max, next.max);
      // Summaries are floats: equal to a few parts in ten million.
      CHECK(got[c].min >= lo * (1 - 1e-6));
      CHECK(got[c].max <= hi * (1 + 1e-6));
    }
    CHECK(gotMax == Approx(expectedMax).epsilon(1e-6));  // the spike is never lost
  }
}
