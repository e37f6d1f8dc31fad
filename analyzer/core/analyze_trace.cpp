// Reader → replay → symbolization → sorted result.
#include "analyze_trace.h"

#include <algorithm>

#include "heap_replay.h"
#include "snapshot_leaks.h"
#include "symbolizer.h"
#include "trace_reader.h"
#include "visitor_fan.h"

namespace tidemark::analysis {

struct TraceAnalyzer::State {
  State(const std::string& path, AnalyzeOptions options)
      : options(std::move(options)), reader(path), fan({&replay, &snapshots}) {}
  AnalyzeOptions options;
  format::TraceReader reader;
  HeapReplay replay;
  SnapshotLeaks snapshots;
  VisitorFan fan;
  // Rebuilt when modules were loaded since: it maps addresses through them.
  std::unique_ptr<Symbolizer> symbolizer;
  size_t symbolizedModules = 0;
  size_t sitesPrepared = 0;  // sites whose stacks the symbolizer has looked up

  Symbolizer& currentSymbolizer() {
    if (!symbolizer || symbolizedModules != replay.modules().size()) {
      symbolizer = std::make_unique<Symbolizer>(replay.modules());
      symbolizedModules = replay.modules().size();
      sitesPrepared = 0;
    }
    return *symbolizer;
  }
};

TraceAnalyzer::TraceAnalyzer(const std::string& path, AnalyzeOptions options)
    : state_(std::make_unique<State>(path, std::move(options))) {}

TraceAnalyzer::~TraceAnalyzer() = default;

uint64_t TraceAnalyzer::readMore() {
  uint64_t chunks = 0;
  // A few chunks at a time, so that progress is reported while a big file is read.
  while (uint64_t n = state_->reader.readAvailable(state_->fan, 16)) {
    chunks += n;
    if (state_->options.progress) {
      state_->options.progress(state_->reader.bytesRead(), state_->reader.fileBytes());
    }
  }
  return chunks;
}

bool TraceAnalyzer::finished() const { return state_->replay.sawTrailer(); }

int32_t TraceAnalyzer::pid() const { return state_->replay.process().pid; }

bool TraceAnalyzer::endedByExec() const {
  return finished() && state_->replay.exitReason() == format::ExitReason::Exec;
}

Analysis TraceAnalyzer::result() {
  State& s = *state_;
  Analysis out;
  out.path = s.reader.path();
  s.replay.fillSummary(out, s.reader.truncated());

  Symbolizer& symbolizer = s.currentSymbolizer();
  auto framesOf = [&](uint32_t stack) {
    std::vector<Frame> frames;
    auto ips = s.replay.stacks().find(stack);
    if (!s.options.symbolize || ips == s.replay.stacks().end()) return frames;
    for (uint64_t ip : ips->second) {
      const auto& more = symbolizer.frames(ip);
      frames.insert(frames.end(), more.begin(), more.end());
    }
    return frames;
  };
  for (const Site& counters : s.replay.sites()) {
    if (counters.allocations == 0 && counters.leakedBlocks == 0) continue;  // inherited too
    out.sites.push_back(counters);
    out.sites.back().history = s.replay.historyOf(counters);
  }
  std::sort(out.sites.begin(), out.sites.end(), [](const Site& a, const Site& b) {
    if (a.leakedBytes != b.leakedBytes) return a.leakedBytes > b.leakedBytes;
    if (a.peakBytes != b.peakBytes) return a.peakBytes > b.peakBytes;
    return a.stack < b.stack;
  });
  // Copying every frame of every site is most of the time here on a trace of many stacks.
  size_t withStacks = std::min(out.sites.size(), s.options.stacksOfSites);
  for (size_t i = 0; i < withStacks; ++i) out.sites[i].frames = framesOf(out.sites[i].stack);
  out.snapshots = s.snapshots.snapshots();
  out.leaks = s.snapshots.leaks();
  for (auto& group : out.leaks) group.frames = framesOf(group.stack);
  out.warnings = symbolizer.warnings();
  static_assert(format::kAllocatorMappingSlots == 16384, "the warning below names it");
  for (const auto& snapshot : out.snapshots) {
    if (!snapshot.allocatorMappingsLost) continue;
    out.warnings.push_back("from snapshot " + std::to_string(snapshot.id + 1) +
                           " on, the allocator had made more mappings than the tracer can "
                           "list (16,384): some of its memory was scanned as roots, which "
                           "can hide leaks");
    break;
  }
  return out;
}

void TraceAnalyzer::prepareSymbols() {
  State& s = *state_;
  if (!s.options.symbolize) return;
  Symbolizer& symbolizer = s.currentSymbolizer();
  const auto& sites = s.replay.sites();  // every stack a report names is a site's
  for (; s.sitesPrepared < sites.size(); ++s.sitesPrepared) {
    auto ips = s.replay.stacks().find(sites[s.sitesPrepared].stack);
    if (ips == s.replay.stacks().end()) continue;
    for (uint64_t ip : ips->second) symbolizer.frames(ip);
  }
}

Analysis analyzeTrace(const std::string& path, const AnalyzeOptions& options) {
  TraceAnalyzer analyzer(path, options);
  analyzer.readMore();
  return analyzer.result();
}

}  // namespace tidemark::analysis
