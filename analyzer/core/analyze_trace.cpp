// Reader → replay → symbolization → sorted result.
#include "analyze_trace.h"

#include <algorithm>

#include "heap_replay.h"
#include "symbolizer.h"
#include "trace_reader.h"

namespace tidemark::analysis {

Analysis analyzeTrace(const std::string& path, const AnalyzeOptions& options) {
  format::TraceReader reader(path);
  HeapReplay replay;
  while (reader.readAvailable(replay) > 0) {
    if (options.progress) options.progress(reader.bytesRead(), reader.fileBytes());
  }
  Analysis out;
  out.path = path;
  replay.fillSummary(out, reader.truncated());

  Symbolizer symbolizer(replay.modules());
  for (const Site& counters : replay.sites()) {
    if (counters.allocations == 0) continue;
    Site site = counters;
    auto stack = replay.stacks().find(site.stack);
    if (options.symbolize && stack != replay.stacks().end()) {
      for (uint64_t ip : stack->second) {
        const auto& frames = symbolizer.frames(ip);
        site.frames.insert(site.frames.end(), frames.begin(), frames.end());
      }
    }
    out.sites.push_back(std::move(site));
  }
  std::sort(out.sites.begin(), out.sites.end(), [](const Site& a, const Site& b) {
    if (a.leakedBytes != b.leakedBytes) return a.leakedBytes > b.leakedBytes;
    if (a.peakBytes != b.peakBytes) return a.peakBytes > b.peakBytes;
    return a.stack < b.stack;
  });
  out.warnings = symbolizer.warnings();
  return out;
}

}  // namespace tidemark::analysis
