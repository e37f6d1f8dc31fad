// Plot arithmetic (see plot_math.h).
#include "plot_math.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

namespace tidemark::viewer {

std::string formatBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  double value = bytes;
  while (std::fabs(value) >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0 || std::fabs(value - std::round(value)) < 0.05) {
    return fmt::format("{:.0f} {}", value, units[unit]);
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

std::string formatSeconds(double seconds) {
  if (seconds < 1 && seconds > -1) return fmt::format("{:.0f} ms", seconds * 1000);
  if (seconds < 60) return fmt::format("{:.{}f} s", seconds, seconds < 10 ? 1 : 0);
  int minutes = static_cast<int>(seconds / 60);
  int rest = static_cast<int>(seconds) % 60;
  if (minutes < 60) return fmt::format("{} m {:02d} s", minutes, rest);
  return fmt::format("{} h {:02d} m", minutes / 60, minutes % 60);
}

std::vector<double> niceTicks(double lo, double hi, int maxTicks, bool bytes) {
  std::vector<double> ticks;
  if (!(hi > lo) || maxTicks < 1) return ticks;
  double raw = (hi - lo) / maxTicks;
  // Bytes step through powers of 1024 times 1, 2, 5, 10, 20, 50, 100, 200, 500.
  double magnitude = 1;
  if (bytes) {
    while (magnitude * 1024 <= raw) magnitude *= 1024;
  } else {
    magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  }
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1024.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(t);
  return ticks;
}

std::vector<Column> downsample(const std::vector<double>& times, const std::vector<double>& values,
                               double t0, double t1, int columns) {
  std::vector<Column> out(std::max(columns, 0));
  if (columns <= 0 || !(t1 > t0)) return out;
  for (size_t i = 0; i < times.size() && i < values.size(); ++i) {
    if (times[i] < t0 || times[i] >= t1) continue;
    int c = static_cast<int>((times[i] - t0) / (t1 - t0) * columns);
    c = std::clamp(c, 0, columns - 1);
    Column& column = out[c];
    if (column.empty) {
      column.min = column.max = values[i];
      column.empty = false;
    }
    column.min = std::min(column.min, values[i]);
    column.max = std::max(column.max, values[i]);
    column.last = values[i];
  }
  return out;
}

}  // namespace tidemark::viewer
