// The text report: summary first, then what was not freed at exit, by call stack.
#include <fmt/core.h>

#include <string>

#include "report.h"

namespace tidemark::cli {
namespace {

std::string grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string bytes(uint64_t n) {
  if (n < 10 * 1024) return grouped(n) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = n / 1024.0;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

std::string where(const analysis::Frame& f) {
  std::string text = f.function;
  if (!f.file.empty()) {
    text += fmt::format("  {}:{}", f.file, f.line);
  } else if (!f.module.empty()) {
    text += "  (" + f.module + ")";
  }
  return text;
}

void printStack(const analysis::Site& site, std::FILE* out) {
  bool first = true;
  for (const auto& f : site.frames) {
    fmt::print(out, "        {} {}{}\n", first ? "at" : "by", where(f),
               f.inlined ? " [inlined]" : "");
    first = false;
  }
  if (site.frames.empty()) fmt::print(out, "        (stack unknown)\n");
}

}  // namespace

void printTextReport(const analysis::Analysis& a, size_t top, std::FILE* out) {
  const auto& s = a.summary;
  fmt::print(out, "tidemark report: {}\n", a.path);
  fmt::print(out, "  program      {} (pid {}, parent {})\n", s.executable, s.pid, s.parentPid);
  fmt::print(out, "  duration     {:.2f} s, ended by {}{}\n", s.durationS, s.exitReason,
             s.complete ? "" : " (trace incomplete)");
  fmt::print(out, "  allocations  {} calls, {} in total, {} temporary\n", grouped(s.allocations),
             bytes(s.allocatedBytes), grouped(s.temporaryAllocations));
  fmt::print(out, "  peak heap    {} at {:.2f} s\n", bytes(s.peakHeapBytes), s.peakHeapTimeS);
  fmt::print(out, "  peak RSS     {} at {:.2f} s\n", bytes(s.peakRssBytes), s.peakRssTimeS);
  fmt::print(out, "  peak stacks  {} resident in {} threads\n", bytes(s.peakStackBytes),
             a.threads.size());
  if (s.droppedEvents) {
    fmt::print(out, "  WARNING      {} events could not be recorded; counts are low\n",
               grouped(s.droppedEvents));
  }

  size_t leakySites = 0;
  for (const auto& site : a.sites) leakySites += site.leakedBlocks > 0;
  fmt::print(out, "\nnot freed at exit: {} bytes in {} blocks from {} call stacks\n",
             grouped(s.leakedBytes), grouped(s.leakedBlocks), leakySites);
  size_t shown = 0;
  for (const auto& site : a.sites) {
    if (site.leakedBlocks == 0 || shown == top) break;
    ++shown;
    fmt::print(out, "  #{:<3} {} bytes in {} blocks (of {} allocations, peak {})\n", shown,
               grouped(site.leakedBytes), grouped(site.leakedBlocks), grouped(site.allocations),
               bytes(site.peakBytes));
    printStack(site, out);
  }
  if (leakySites > shown) fmt::print(out, "  ... {} more (--top N)\n", leakySites - shown);
}

}  // namespace tidemark::cli
