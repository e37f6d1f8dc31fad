// The arithmetic of tidemark-view's plots, apart from drawing so it can be unit-tested:
// readable axis ticks, byte and time labels, per-pixel downsampling, value ↔ pixel maps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tidemark::viewer {

// "1,5 MiB"-style labels: B, KiB, MiB, GiB with at most one decimal.
std::string formatBytes(double bytes);
// "+1.5 KiB", "-200 B", "0 B": a change in bytes.
std::string formatSignedBytes(int64_t bytes);
// "950", "12.5k", "3.2M": counts and rates.
std::string formatCount(double n);
// "1.5 s", "250 ms", "2 m 05 s".
std::string formatSeconds(double seconds);
// A time-axis label with as many decimals as ticks `step` seconds apart need to differ:
// "2.14 s", "250.5 ms".
std::string formatTick(double seconds, double step);

// What an axis counts: bytes step through powers of 1024, seconds past half a minute at
// the clock's round numbers (1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h), plain numbers
// through powers of 10.
enum class TickUnit { Bytes, Seconds, Plain };

// Tick positions between lo and hi at a "nice" step (1, 2 or 5 times a power of the
// unit's base), at most about `maxTicks` of them.
std::vector<double> niceTicks(double lo, double hi, int maxTicks, TickUnit unit);

// A linear map from a value range to a pixel range (y grows downwards on screen).
struct Axis {
  double lo = 0, hi = 1;
  float pixelLo = 0, pixelHi = 1;
  float toPixel(double v) const {
    return pixelLo + static_cast<float>((v - lo) / (hi - lo)) * (pixelHi - pixelLo);
  }
  double toValue(float p) const { return lo + (p - pixelLo) / (pixelHi - pixelLo) * (hi - lo); }
};

// One x pixel column of a downsampled series: the min and max of the points in it and
// the last value (for drawing a step that ends where the data ends).
struct Column {
  double min = 0, max = 0, last = 0;
  bool empty = true;
};

// Downsamples (time, value) points, sorted by time, into `columns` columns over
// [t0, t1]: every point lands in exactly one column, so no peak is lost. A point at t1
// is in the last column: the trace's last sample, taken as the program ends, lies at
// the end of the whole-run view.
std::vector<Column> downsample(const std::vector<double>& times, const std::vector<double>& values,
                               double t0, double t1, int columns);

}  // namespace tidemark::viewer
