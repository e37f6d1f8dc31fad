// Plot arithmetic (see plot_math.h).
#include "plot_math.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <iterator>

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

std::string formatSignedBytes(int64_t bytes) {
  std::string magnitude = formatBytes(std::fabs(static_cast<double>(bytes)));
  return bytes > 0 ? "+" + magnitude : bytes < 0 ? "-" + magnitude : magnitude;
}

std::string formatCount(double n) {
  if (std::fabs(n) < 1000) return fmt::format("{:.0f}", n);
  const char* units[] = {"k", "M", "G", "T"};
  int unit = -1;
  while (std::fabs(n) >= 1000 && unit < 3) {
    n /= 1000;
    ++unit;
  }
  return fmt::format("{:.{}f}{}", n, std::fabs(n) < 10 ? 1 : 0, units[unit]);
}

std::string formatSeconds(double seconds) {
  if (seconds < 1 && seconds > -1) return fmt::format("{:.0f} ms", seconds * 1000);
  if (seconds < 60) return fmt::format("{:.{}f} s", seconds, seconds < 10 ? 1 : 0);
  int minutes = static_cast<int>(seconds / 60);
  int rest = static_cast<int>(seconds) % 60;
  if (minutes < 60) return fmt::format("{} m {:02d} s", minutes, rest);
  return fmt::format("{} h {:02d} m", minutes / 60, minutes % 60);
}

std::string formatTick(double seconds, double step) {
  auto decimals = [](double unitStep) {
    return unitStep >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(unitStep) - 1e-9));
  };
  if (seconds < 1 && seconds > -1 && step < 1) {
    return fmt::format("{:.{}f} ms", seconds * 1000, decimals(step * 1000));
  }
  if (step >= 1 || seconds >= 60) return formatSeconds(seconds);
  return fmt::format("{:.{}f} s", seconds, decimals(step));
}

std::vector<double> niceTicks(double lo, double hi, int maxTicks, TickUnit unit) {
  std::vector<double> ticks;
  if (!(hi > lo) || maxTicks < 1) return ticks;
  double raw = (hi - lo) / maxTicks;
  // Bytes step through powers of 1024 times 1, 2, 5, 10, 20, 50, 100, 200, 500.
  double magnitude = 1;
  if (unit == TickUnit::Seconds && raw >= 30) {
    // Minutes and hours step at the clock's own round numbers.
    static constexpr double kClockSteps[] = {60,   120,   300,   600,   900,   1800,  3600,
                                             7200, 10800, 21600, 43200, 86400, 172800};
    double step = kClockSteps[std::size(kClockSteps) - 1];
    for (double s : kClockSteps) {
      if (s >= raw) {
        step = s;
        break;
      }
    }
    while (step < raw) step *= 2;
    for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
      ticks.push_back(t);
    }
    return ticks;
  }
  if (unit == TickUnit::Bytes) {
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
    if (times[i] < t0 || times[i] > t1) continue;
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
