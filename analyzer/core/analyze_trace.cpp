// Reader → replay → symbolization → sorted result.
#include "analyze_trace.h"

#include <algorithm>

#include "heap_replay.h"
#include "snapshot_leaks.h"
#include "symbolizer.h"
#include "trace_reader.h"
#include "visitor_fan.h"

namespace tidemark::analysis {

Analysis analyzeTrace(const std::string& path, const AnalyzeOptions& options) {
  format::TraceReader reader(path);
  HeapReplay replay;
  SnapshotLeaks snapshots;
  VisitorFan fan({&replay, &snapshots});
  while (reader.readAvailable(fan) > 0) {
    if (options.progress) options.progress(reader.bytesRead(), reader.fileBytes());
  }
  Analysis out;
  out.path = path;
  replay.fillSummary(out, reader.truncated());

  Symbolizer symbolizer(replay.modules());
  auto framesOf = [&](uint32_t stack) {
    std::vector<Frame> frames;
    auto ips = replay.stacks().find(stack);
    if (!options.symbolize || ips == replay.stacks().end()) return frames;
    for (uint64_t ip : ips->second) {
      const auto& more = symbolizer.frames(ip);
      frames.insert(frames.end(), more.begin(), more.end());
    }
    return frames;
  };
  for (const Site& counters : replay.sites()) {
    if (counters.allocations == 0) continue;
    out.sites.push_back(counters);
    out.sites.back().frames = framesOf(counters.stack);
    out.sites.back().history = replay.historyOf(counters);
  }
  out.snapshots = snapshots.snapshots();
  out.leaks = snapshots.leaks();
  for (auto& group : out.leaks) group.frames = framesOf(group.stack);
  std::sort(out.sites.begin(), out.sites.end(), [](const Site& a, const Site& b) {
    if (a.leakedBytes != b.leakedBytes) return a.leakedBytes > b.leakedBytes;
    if (a.peakBytes != b.peakBytes) return a.peakBytes > b.peakBytes;
    return a.stack < b.stack;
  });
  out.warnings = symbolizer.warnings();
  return out;
}

}  // namespace tidemark::analysis
