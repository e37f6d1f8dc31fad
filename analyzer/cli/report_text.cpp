// The text report: summary first, then what was not freed at exit, by call stack.
#include <fmt/core.h>

#include <algorithm>
#include <string>
#include <vector>

#include "leak_classes.h"
#include "leak_growth.h"
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

void printStack(const std::vector<analysis::Frame>& frames, std::FILE* out) {
  bool first = true;
  for (const auto& f : frames) {
    fmt::print(out, "        {} {}{}\n", first ? "at" : "by", where(f),
               f.inlined ? " [inlined]" : "");
    first = false;
  }
  if (frames.empty()) fmt::print(out, "        (stack unknown)\n");
}

// "+1,024 B" / "-3.0 MiB": a signed change.
std::string signedBytes(int64_t n) {
  return (n < 0 ? "-" : "+") + bytes(static_cast<uint64_t>(n < 0 ? -n : n));
}

// "+1,050" / "-3": a signed count.
std::string signedCount(int64_t n) {
  return (n < 0 ? "-" : "+") + grouped(static_cast<uint64_t>(n < 0 ? -n : n));
}

// memcheck's words for the classes, so the two reports read alike.
const char* leakPhrase(analysis::LeakKind kind) {
  switch (kind) {
    case analysis::LeakKind::Definite:
      return "definitely lost";
    case analysis::LeakKind::Indirect:
      return "indirectly lost";
    case analysis::LeakKind::Possible:
      return "possibly lost";
    case analysis::LeakKind::Reachable:
      return "still reachable";
  }
  return "?";
}

// "+1.2 KiB per second".
std::string rateText(const analysis::Growth& growth) {
  return fmt::format("{} per {}", signedBytes(static_cast<int64_t>(growth.bytesPerUnit)),
                     growth.unit);
}

// Lost bytes at the complete snapshots, a dozen at most spread evenly over the run, and
// how fast they grew: whether a leak goes on, without the viewer. Left out when nothing
// was ever lost.
void printLeakTimeline(const analysis::Analysis& a, std::FILE* out) {
  using analysis::LeakKind;
  constexpr size_t kRows = 12;
  std::vector<const analysis::SnapshotSummary*> complete;
  for (const auto& s : a.snapshots) {
    if (s.complete) complete.push_back(&s);
  }
  auto lost = [](const uint64_t(&values)[4]) {
    return values[static_cast<int>(LeakKind::Definite)] +
           values[static_cast<int>(LeakKind::Indirect)];
  };
  bool anyLost = std::any_of(complete.begin(), complete.end(),
                             [&](const auto* s) { return lost(s->blocks) != 0; });
  if (complete.size() < 2 || !anyLost) return;  // rows of zeros say no more than the totals
  size_t rows = std::min(kRows, complete.size());
  fmt::print(out, "\n  lost over the run (definitely + indirectly, {} snapshots{}):\n",
             complete.size(), complete.size() > rows ? fmt::format(", {} shown", rows) : "");
  for (size_t r = 0; r < rows; ++r) {
    const auto& s = *complete[r * (complete.size() - 1) / (rows - 1)];
    fmt::print(out, "    {:>9.2f} s  {:>13} bytes in {} blocks ({})\n", s.timeS,
               grouped(lost(s.bytes)), grouped(lost(s.blocks)), s.trigger);
  }
  const auto& first = *complete.front();
  const auto& last = *complete.back();
  if (last.timeS > first.timeS) {
    int64_t change =
        static_cast<int64_t>(lost(last.bytes)) - static_cast<int64_t>(lost(first.bytes));
    fmt::print(out, "    {} from the first to the last\n",
               rateText(analysis::growthOver(change, last.timeS - first.timeS)));
  }
}

// How a leak group grew since the first complete snapshot that had it: ", +1.2 KiB per
// second since", ", unchanged since", or nothing when this snapshot is its first.
std::string growthSince(const analysis::LeakGroup& group, double nowS) {
  auto growth = analysis::growthSinceFirstSeen(group, nowS);
  if (!growth) return "";
  return growth->change == 0 ? ", unchanged since" : ", " + rateText(*growth) + " since";
}

// The leak report of the last complete snapshot: what is lost, not merely unfreed.
void printLeaks(const analysis::Analysis& a, size_t top, std::FILE* out) {
  using analysis::LeakKind;
  const auto* last = a.reportedSnapshot();
  fmt::print(out, "\nleaks by reachability (snapshot {} of {}, at {:.2f} s, {}):\n", last->id + 1,
             a.snapshots.size() + a.failedSnapshots.size(), last->timeS, last->trigger);
  if (!last->complete) {
    fmt::print(out, "  INCOMPLETE: {}\n", analysis::incompleteText(*last));
    if (last->threadsNotStopped) {
      fmt::print(out, "  (blocks only their stacks and registers point to count as lost)\n");
    }
  }
  printLeakTotals(*last, out);
  printLeakTimeline(a, out);
  if (!a.leaks.empty()) fmt::print(out, "\n");
  size_t shown = 0;
  for (const auto& group : a.leaks) {
    if (shown == top) break;
    ++shown;
    std::string extra = growthSince(group, last->timeS);
    if (group.kind == LeakKind::Definite && group.indirectBytes) {
      extra += fmt::format(", holding {} bytes indirectly lost", grouped(group.indirectBytes));
    }
    fmt::print(out, "  {} {} bytes in {} blocks (first lost at {:.2f} s{})\n",
               leakPhrase(group.kind), grouped(group.bytes), grouped(group.blocks),
               group.firstSeenS, extra);
    printStack(group.frames, out);
  }
  if (a.leaks.size() > shown) fmt::print(out, "  ... {} more (--top N)\n", a.leaks.size() - shown);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Why snapshots are incomplete, one line per distinct reason (the same one each time,
// under a debugger): a leak count from them may be too high, and the user should know why.
void printIncompleteSnapshots(const analysis::Analysis& a, std::FILE* out) {
  std::vector<std::pair<std::string, size_t>> reasons;  // text, snapshots; in first order
  for (const auto& snapshot : a.snapshots) {
    std::string text = analysis::incompleteText(snapshot);
    if (text.empty()) continue;
    auto same = std::find_if(reasons.begin(), reasons.end(),
                             [&](const auto& r) { return r.first == text; });
    if (same == reasons.end()) {
      reasons.emplace_back(text, 1);
    } else {
      ++same->second;
    }
  }
  for (const auto& [text, count] : reasons) {
    fmt::print(out, "               incomplete ({}): {}\n", count, text);
  }
}

// What the snapshots cost the program; a hint when the pauses are long enough to matter
// to a server (they grow with the heap; huge pages cut them tenfold, the heap guard
// takes the heap out of them).
void printSnapshotCosts(const analysis::Analysis& a, std::FILE* out) {
  std::vector<double> pauses, scans;
  size_t incomplete = 0, guarded = 0;
  double longestCopied = 0;
  for (const auto& snapshot : a.snapshots) {
    pauses.push_back(snapshot.pauseMs);
    scans.push_back(snapshot.scanMs);
    incomplete += !snapshot.complete;
    guarded += snapshot.guarded;
    if (!snapshot.guarded) longestCopied = std::max(longestCopied, snapshot.pauseMs);
  }
  double longest = *std::max_element(pauses.begin(), pauses.end());
  fmt::print(out,
             "  snapshots    {}{}: paused the program {:.1f} ms median, {:.1f} ms at most; "
             "scans {:.0f} ms median\n",
             pauses.size(), incomplete ? fmt::format(" ({} incomplete)", incomplete) : "",
             median(pauses), longest, median(scans));
  if (guarded) fmt::print(out, "               {} with the heap guarded\n", guarded);
  printIncompleteSnapshots(a, out);
  if (longestCopied < 20) return;
  // Copying the page tables costs up to ~35 ms per GB (docs/performance.md); a pause far
  // beyond that for the heap the program had came from stopping its threads.
  constexpr double kCopyMsPerGiB = 35;
  double heapMs = static_cast<double>(a.summary.peakRssBytes) / (1u << 30) * kCopyMsPerGiB;
  if (heapMs >= longestCopied / 2) {
    fmt::print(out,
               "               (a copied snapshot's pause grows with the heap on 4 KiB pages: "
               "tidemark record --huge-pages shortens them; a heap of 64 MiB or more is "
               "guarded instead where userfaultfd is allowed, docs/guide.md)\n");
  } else {
    fmt::print(out,
               "               (the pause grows with the number of threads, {} here: each is "
               "stopped and resumed on its own, docs/guide.md)\n",
               grouped(a.threads.size()));
  }
}

// Snapshots asked for that have no result: a leak report taken from an earlier snapshot
// than the user expects should say so, and why.
void printFailedSnapshots(const analysis::Analysis& a, std::FILE* out) {
  constexpr size_t kShown = 5;
  const auto& failed = a.failedSnapshots;
  fmt::print(out, "  failed       {} snapshot{}\n", failed.size(), failed.size() == 1 ? "" : "s");
  for (size_t i = 0; i < failed.size() && i < kShown; ++i) {
    fmt::print(out, "               #{} at {:.2f} s ({}): {}\n", failed[i].id + 1, failed[i].timeS,
               failed[i].trigger, failed[i].reason);
  }
  if (failed.size() > kShown)
    fmt::print(out, "               ... {} more\n", failed.size() - kShown);
}

// Memory the scans read as zeros: says which mapping, and which fault, for the user who
// wonders why a pointer kept there did not count (the program cannot read it either).
void printUnreadableMemory(const analysis::Analysis& a, std::FILE* out) {
  constexpr size_t kShown = 3;
  const analysis::SnapshotSummary* last = nullptr;
  size_t snapshots = 0;
  for (const auto& snapshot : a.snapshots) {
    if (snapshot.unreadable.empty()) continue;
    last = &snapshot;
    ++snapshots;
  }
  if (!last) return;
  fmt::print(out, "  unreadable   memory in {} snapshot{}, read as zeros; in #{}:\n", snapshots,
             snapshots == 1 ? "" : "s", last->id + 1);
  const auto& ranges = last->unreadable;
  for (size_t i = 0; i < ranges.size() && i < kShown; ++i) {
    fmt::print(out, "               {} at {:#x} ({}) of {}\n", bytes(ranges[i].bytes),
               ranges[i].address, ranges[i].signal, ranges[i].mapping);
  }
  if (ranges.size() > kShown)
    fmt::print(out, "               ... {} more\n", ranges.size() - kShown);
}

}  // namespace

void printLeakTotals(const analysis::SnapshotSummary& snapshot, std::FILE* out) {
  using analysis::LeakKind;
  for (LeakKind kind :
       {LeakKind::Definite, LeakKind::Indirect, LeakKind::Possible, LeakKind::Reachable}) {
    auto k = static_cast<int>(kind);
    fmt::print(out, "  {:<18} {} bytes in {} blocks\n", leakPhrase(kind),
               grouped(snapshot.bytes[k]), grouped(snapshot.blocks[k]));
  }
  bool heading = false;  // memcheck's layout, for reports read side by side
  for (uint8_t h = 0; h < format::kPointerKinds; ++h) {
    const char* name = analysis::heuristicName(static_cast<format::PointerKind>(h));
    if (!name || snapshot.heuristicBlocks[h] == 0) continue;
    if (!heading) fmt::print(out, "                       of which reachable via heuristic:\n");
    heading = true;
    fmt::print(out, "                         {:<19}: {} bytes in {} blocks\n", name,
               grouped(snapshot.heuristicBytes[h]), grouped(snapshot.heuristicBlocks[h]));
  }
}

void printTextReport(const analysis::Analysis& a, size_t top, std::FILE* out) {
  const auto& s = a.summary;
  fmt::print(out, "tidemark report: {}\n", a.path);
  fmt::print(out, "  program      {} (pid {}, parent {})\n", s.executable, s.pid, s.parentPid);
  if (!s.tracingStopped.empty()) {
    fmt::print(
        out, "  duration     {:.2f} s, then tracing stopped: the trace could not be written ({})\n",
        s.durationS, s.tracingStopped);
  } else {
    fmt::print(out, "  duration     {:.2f} s, ended by {}{}\n", s.durationS, s.exitReason,
               !s.complete                  ? " (trace incomplete)"
               : s.endWrittenBy == "record" ? " (seen by tidemark record: the tracer could not "
                                              "write its last moments)"
                                            : "");
  }
  if (!s.corruption.empty()) {
    fmt::print(out, "  unreadable   from byte {} of {}: {}; the report is of what came before\n",
               grouped(s.corruptAtByte), grouped(s.fileBytes), s.corruption);
  }
  fmt::print(out, "  allocations  {} calls, {} in total, {} temporary\n", grouped(s.allocations),
             bytes(s.allocatedBytes), grouped(s.temporaryAllocations));
  if (s.inheritedBlocks) {
    fmt::print(out, "  inherited    {} in {} blocks from the parent process (pid {})\n",
               bytes(s.inheritedBytes), grouped(s.inheritedBlocks), s.parentPid);
  }
  fmt::print(out, "  peak heap    {} at {:.2f} s\n", bytes(s.peakHeapBytes), s.peakHeapTimeS);
  fmt::print(out, "  peak RSS     {} at {:.2f} s\n", bytes(s.peakRssBytes), s.peakRssTimeS);
  fmt::print(out, "  peak stacks  {} resident in {} thread{}\n", bytes(s.peakStackBytes),
             a.threads.size(), a.threads.size() == 1 ? "" : "s");
  if (!a.snapshots.empty()) printSnapshotCosts(a, out);
  if (!a.failedSnapshots.empty()) printFailedSnapshots(a, out);
  printUnreadableMemory(a, out);
  if (s.droppedEvents) {
    fmt::print(out, "  WARNING      {} events could not be recorded; counts are low\n",
               grouped(s.droppedEvents));
  }

  if (a.reportedSnapshot()) printLeaks(a, top, out);

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
    printStack(site.frames, out);
  }
  if (leakySites > shown) fmt::print(out, "  ... {} more (--top N)\n", leakySites - shown);
}

void printTextComparison(const analysis::Analysis& a, const analysis::Comparison& c, size_t top,
                         std::FILE* out) {
  fmt::print(out, "tidemark comparison: {}\n", a.path);
  fmt::print(out, "  from {:.2f} s to {:.2f} s: {} net, {} allocated, {} freed\n", c.fromS, c.toS,
             signedBytes(c.netBytes), bytes(c.addedBytes), bytes(c.removedBytes));
  fmt::print(out, "\nsites by net growth ({} changed):\n", c.sites.size());
  size_t shown = 0;
  for (const auto& change : c.sites) {
    if (shown == top) break;
    ++shown;
    fmt::print(out,
               "  #{:<3} {} in {} blocks: {} in {} blocks allocated, {} in {} blocks freed; live "
               "{} -> {}\n",
               shown, signedBytes(change.netBytes()), signedCount(change.netBlocks),
               bytes(change.addedBytes), grouped(change.addedBlocks), bytes(change.removedBytes),
               grouped(change.removedBlocks), bytes(change.bytesBefore), bytes(change.bytesAfter));
    printStack(change.site->frames, out);
  }
  if (c.sites.size() > shown) fmt::print(out, "  ... {} more (--top N)\n", c.sites.size() - shown);
}

}  // namespace tidemark::cli
