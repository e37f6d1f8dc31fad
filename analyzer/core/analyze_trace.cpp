// Reader → replay → symbolization → sorted result.
#include "analyze_trace.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "heap_replay.h"
#include "snapshot_leaks.h"
#include "symbolizer.h"
#include "trace_reader.h"
#include "visitor_fan.h"

namespace tidemark::analysis {

// The symbolizer, and a thread that looks up the stacks read so far while the reading
// goes on: libdw's work (decompressing and parsing debug information, walking units)
// overlaps the replay instead of following it, and result() has only what the thread
// has not reached yet left to do. result() and the thread take turns under the mutex.
struct SymbolizerThread {
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<format::ModuleInfo> modules;  // what addresses map through
  // Rebuilt when modules were loaded since: it maps addresses through them.
  std::unique_ptr<Symbolizer> symbolizer;
  size_t symbolizedModules = 0;
  std::deque<uint64_t> pending;  // return addresses not looked up yet
  bool stopping = false;
  std::atomic<bool> resultWaiting{false};  // the thread yields to result() between lookups
  std::thread thread;

  // With the mutex held.
  Symbolizer& current() {
    if (!symbolizer || symbolizedModules != modules.size()) {
      symbolizer = std::make_unique<Symbolizer>(modules);
      symbolizedModules = modules.size();
    }
    return *symbolizer;
  }

  void start() {
    thread = std::thread([this] {
      std::unique_lock lock(mutex);
      for (;;) {
        wake.wait(lock, [&] { return stopping || (!pending.empty() && !resultWaiting); });
        if (stopping) return;
        uint64_t ip = pending.front();
        pending.pop_front();
        current().frames(ip);
        lock.unlock();  // let a waiting result() in between two lookups
        lock.lock();
      }
    });
  }

  ~SymbolizerThread() {
    if (!thread.joinable()) return;
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    thread.join();
  }
};

// The return addresses of the stacks read, each once, as their definitions come:
// stacks share most of theirs, so what goes to the symbolizer thread stays as small as
// the code the stacks run through.
struct NewAddresses : format::RecordVisitor {
  std::unordered_set<uint64_t> seen;
  std::vector<uint64_t> fresh;  // seen since the last take
  void onStack(uint32_t, const std::vector<uint64_t>& ips) override {
    for (uint64_t ip : ips) {
      if (seen.insert(ip).second) fresh.push_back(ip);
    }
  }
};

struct TraceAnalyzer::State {
  State(const std::string& path, AnalyzeOptions options)
      : options(std::move(options)),
        reader(path),
        fan(this->options.symbolize
                ? std::vector<format::RecordVisitor*>{&replay, &snapshots, &addresses}
                : std::vector<format::RecordVisitor*>{&replay, &snapshots}) {}
  AnalyzeOptions options;
  format::TraceReader reader;
  HeapReplay replay;
  SnapshotLeaks snapshots;
  NewAddresses addresses;  // read into only when symbolizing
  VisitorFan fan;
  SymbolizerThread symbols;  // last: its thread stops before the rest goes
  // The reader's error: nothing after it is read (a chunk it failed in may have handed
  // over part of its records already).
  std::optional<format::TraceError> corruption;

  // Hands the addresses read since the last call to the symbolizer thread; all of them
  // again when modules were loaded since (its symbolizer then starts over).
  void queueNewAddresses() {
    bool modulesChanged = replay.modules().size() != symbols.modules.size();
    if (addresses.fresh.empty() && !modulesChanged) return;
    {
      std::lock_guard lock(symbols.mutex);
      if (modulesChanged) {
        symbols.modules = replay.modules();
        symbols.pending.assign(addresses.seen.begin(), addresses.seen.end());
      } else {
        symbols.pending.insert(symbols.pending.end(), addresses.fresh.begin(),
                               addresses.fresh.end());
      }
    }
    addresses.fresh.clear();
    symbols.wake.notify_one();
  }
};

TraceAnalyzer::TraceAnalyzer(const std::string& path, AnalyzeOptions options)
    : state_(std::make_unique<State>(path, std::move(options))) {
  if (state_->options.symbolize) state_->symbols.start();
}

TraceAnalyzer::~TraceAnalyzer() = default;

uint64_t TraceAnalyzer::readMore() {
  if (state_->corruption) return 0;
  uint64_t chunks = 0;
  // A chunk at a time: progress is reported and new stacks go to the symbolizer thread
  // while a big file is read.
  try {
    while (uint64_t n = state_->reader.readAvailable(state_->fan, 1)) {
      chunks += n;
      if (state_->options.symbolize) state_->queueNewAddresses();
      if (state_->options.progress) {
        state_->options.progress(state_->reader.bytesRead(), state_->reader.fileBytes());
      }
    }
  } catch (const format::TraceError& error) {
    // A damaged chunk in a long run's trace does not take the hours before it along; a
    // first chunk that cannot be read leaves nothing to analyse.
    if (state_->reader.chunksRead() == 0) throw;
    state_->corruption = error;
  }
  return chunks;
}

bool TraceAnalyzer::finished() const { return state_->replay.sawTrailer(); }

bool TraceAnalyzer::corrupt() const { return state_->corruption.has_value(); }

int32_t TraceAnalyzer::pid() const { return state_->replay.process().pid; }

bool TraceAnalyzer::endedByExec() const {
  return finished() && state_->replay.exitReason() == format::ExitReason::Exec;
}

Analysis TraceAnalyzer::result(bool atEnd) {
  State& s = *state_;
  Analysis out;
  out.path = s.reader.path();
  s.replay.fillSummary(out, s.reader.truncated() && !s.corruption);
  if (s.corruption) {
    out.summary.corruption = s.corruption->reason();
    out.summary.corruptAtByte = s.corruption->offset();
    out.summary.fileBytes = s.reader.fileBytes();
  }

  if (s.options.symbolize) s.queueNewAddresses();  // the module list, even with no new stack
  s.symbols.resultWaiting = true;
  std::unique_lock symbolsLock(s.symbols.mutex);
  Symbolizer& symbolizer = s.symbols.current();
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
  out.failedSnapshots =
      s.snapshots.failed(atEnd || finished() || s.reader.truncated() || s.corruption);
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
  s.symbols.resultWaiting = false;
  symbolsLock.unlock();
  s.symbols.wake.notify_one();
  return out;
}

Analysis analyzeTrace(const std::string& path, const AnalyzeOptions& options) {
  TraceAnalyzer analyzer(path, options);
  analyzer.readMore();
  return analyzer.result(true);
}

}  // namespace tidemark::analysis
