// Snapshot aggregation (see snapshot_leaks.h).
#include "snapshot_leaks.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <tuple>

namespace tidemark::analysis {

namespace {

const char* triggerName(format::SnapshotTrigger trigger) {
  switch (trigger) {
    case format::SnapshotTrigger::Periodic:
      return "periodic";
    case format::SnapshotTrigger::Signal:
      return "signal";
    case format::SnapshotTrigger::Exit:
      return "exit";
    case format::SnapshotTrigger::Api:
      return "api";
  }
  return "unknown";
}

const char* kUnended = "the trace has no end for it";

std::string failureReason(format::SnapshotFailure reason, int32_t detail) {
  using format::SnapshotFailure;
  switch (reason) {
    case SnapshotFailure::ScannerKilled:
      return "its scanning process was killed by " + signalName(detail);
    case SnapshotFailure::ScannerExited:
      return "its scanning process exited early, status " + std::to_string(detail);
    case SnapshotFailure::NoScanner:
      return std::string("its scanning process could not be started: ") + strerror(detail);
    case SnapshotFailure::NotResumed:
      return "the program's threads were not all resumed within 5 s";
    case SnapshotFailure::BrokenOutput:
      return "its scanning process wrote a broken record";
  }
  return "failed for a reason this reader does not know (" +
         std::to_string(static_cast<uint32_t>(reason)) + ")";
}

FailedSnapshot unended(const format::SnapshotInfo& info) {
  return {info.id, info.timeUs / 1e6, triggerName(info.trigger), kUnended};
}

}  // namespace

void SnapshotLeaks::onSnapshotBegin(const format::SnapshotInfo& info) {
  if (open_) failed_.push_back(unended(info_));
  info_ = info;
  open_ = true;
  graph_ = HeapGraph{};
  edges_.clear();
  unreadable_.clear();
}

void SnapshotLeaks::onSnapshotFailed(const format::SnapshotFailureInfo& failure) {
  if (open_ && info_.id != failure.id) failed_.push_back(unended(info_));
  open_ = false;
  graph_ = HeapGraph{};
  edges_.clear();
  unreadable_.clear();
  std::string reason = failureReason(failure.reason, failure.detail);
  if (failure.reason == format::SnapshotFailure::ScannerKilled && fatalFault_.first == failure.id)
    reason += ", reading " + fatalFault_.second;
  failed_.push_back(
      {failure.id, failure.timeUs / 1e6, triggerName(failure.trigger), std::move(reason)});
}

std::vector<FailedSnapshot> SnapshotLeaks::failed(bool traceOver) const {
  std::vector<FailedSnapshot> all = failed_;
  if (traceOver && open_) all.push_back(unended(info_));
  return all;
}

void SnapshotLeaks::onSnapshotBlocks(const std::vector<format::SnapshotBlock>& blocks) {
  if (open_) graph_.blocks.insert(graph_.blocks.end(), blocks.begin(), blocks.end());
}

void SnapshotLeaks::onSnapshotRoots(const std::vector<format::SnapshotRoot>& roots) {
  if (open_) graph_.roots.insert(graph_.roots.end(), roots.begin(), roots.end());
}

void SnapshotLeaks::onSnapshotEdges(const std::vector<format::SnapshotEdge>& edges) {
  if (open_) edges_.insert(edges_.end(), edges.begin(), edges.end());
}

void SnapshotLeaks::onSnapshotUnreadable(const format::SnapshotUnreadable& memory) {
  if (memory.fatal) {  // maybe before its Begin
    char address[24];
    snprintf(address, sizeof address, "%#" PRIx64, memory.begin);
    fatalFault_ = {memory.id, std::string("at ") + address + " of " + memory.mapping};
    return;
  }
  if (!open_ || memory.id != info_.id) return;
  unreadable_.push_back(
      {memory.begin, memory.end - memory.begin, signalName(memory.signal), memory.mapping});
}

void SnapshotLeaks::onSnapshotEnd(uint32_t id, uint64_t scanUs, uint32_t flags) {
  if (!open_ || id != info_.id) return;
  open_ = false;
  graph_.setEdges(edges_);
  Classification c = classifyLeaks(graph_);
  double timeS = info_.timeUs / 1e6;

  SnapshotSummary summary;
  summary.id = info_.id;
  summary.timeS = timeS;
  summary.pauseMs = info_.pauseUs / 1e3;
  summary.scanMs = scanUs / 1e3;
  summary.trigger = triggerName(info_.trigger);
  summary.complete = info_.complete && (flags & format::kSnapshotIncomplete) == 0;
  summary.allocatorMappingsLost = info_.allocatorMappingsLost;
  summary.guarded = info_.guarded;
  summary.incompleteFlags = info_.incompleteFlags | flags;
  summary.threadsNotStopped = info_.threadsNotStopped;
  summary.unreadable.swap(unreadable_);
  std::unordered_map<BlockKey, double, BlockKeyHash> firstLost;
  std::map<GroupKey, LeakGroup> groups;
  for (size_t i = 0; i < graph_.blocks.size(); ++i) {
    const auto& block = graph_.blocks[i];
    LeakKind kind = c.kind[i];
    auto k = static_cast<size_t>(kind);
    summary.bytes[k] += block.size;
    ++summary.blocks[k];
    if (kind == LeakKind::Reachable) {
      if (c.viaHeuristic[i] != format::PointerKind::Start) {
        auto heuristic = static_cast<size_t>(c.viaHeuristic[i]);
        summary.heuristicBytes[heuristic] += block.size;
        ++summary.heuristicBlocks[heuristic];
      }
      continue;
    }
    BlockKey key{block.address, block.allocTimeUs};
    auto seen = firstLost_.find(key);
    double first = seen != firstLost_.end() ? seen->second : timeS;
    firstLost.emplace(key, first);
    uint32_t retainer = kind == LeakKind::Indirect && c.leader[i] != UINT64_MAX
                            ? graph_.blocks[c.leader[i]].stack
                            : 0;
    LeakGroup& g = groups[{kind, block.stack, retainer}];
    g.kind = kind;
    g.stack = block.stack;
    g.retainedByStack = retainer;
    g.bytes += block.size;
    ++g.blocks;
    g.firstSeenS = g.blocks == 1 ? first : std::min(g.firstSeenS, first);
    if (kind == LeakKind::Indirect && c.leader[i] != UINT64_MAX) {
      uint64_t leader = c.leader[i];
      groups[{LeakKind::Definite, graph_.blocks[leader].stack, 0}].indirectBytes += block.size;
    }
  }
  firstLost_.swap(firstLost);
  for (auto& [key, group] : groups) {
    auto first = summary.complete ? firstGroups_.try_emplace(key, timeS, group.bytes).first
                                  : firstGroups_.find(key);
    if (first != firstGroups_.end()) {
      group.firstGroupS = first->second.first;
      group.firstGroupBytes = first->second.second;
    } else {  // in no complete snapshot yet: this one is its first, no growth to give
      group.firstGroupS = timeS;
      group.firstGroupBytes = group.bytes;
    }
    summary.groups.push_back(group);
  }
  std::sort(summary.groups.begin(), summary.groups.end(),
            [](const LeakGroup& a, const LeakGroup& b) {
              if (a.kind != b.kind) return a.kind > b.kind;  // definite first
              if (a.bytes != b.bytes) return a.bytes > b.bytes;
              return a.stack < b.stack;
            });
  snapshots_.push_back(std::move(summary));
  // The report's groups: the last complete snapshot's.
  if (snapshots_.back().complete || leaks_.empty()) leaks_ = snapshots_.back().groups;
}

namespace {

// Why a snapshot is incomplete (format::kSnapshotThreads*, kSnapshotBlocksUnreadable,
// kSnapshotGuardLostMemory): JSON's name, and the words.
struct IncompleteReason {
  uint32_t bit;
  bool thread;  // a reason why threads were not stopped
  const char* name;
  const char* words;
};
constexpr IncompleteReason kIncompleteReasons[] = {
    {format::kSnapshotThreadsRefused, true, "ptrace_refused",
     "ptrace refused: a debugger or another tracer, or no permission"},
    {format::kSnapshotThreadsTimedOut, true, "stop_timed_out", "not stopped within 500 ms"},
    {format::kSnapshotTooManyThreads, true, "too_many_threads",
     "more threads than a snapshot stops"},
    {format::kSnapshotBlocksUnreadable, false, "blocks_unreadable",
     "memory under live blocks could not be read"},
    {format::kSnapshotGuardLostMemory, false, "guard_lost_memory",
     "guarded memory under live blocks or roots changed before the scan read it"},
};

}  // namespace

std::vector<std::string> incompleteReasonNames(const SnapshotSummary& snapshot) {
  std::vector<std::string> names;
  if (snapshot.complete) return names;
  for (const auto& reason : kIncompleteReasons) {
    if (snapshot.incompleteFlags & reason.bit) names.push_back(reason.name);
  }
  if (names.empty()) names.push_back(snapshot.threadsNotStopped ? "registers_unread" : "unknown");
  return names;
}

std::string incompleteText(const SnapshotSummary& snapshot) {
  if (snapshot.complete) return "";
  std::string threadCauses, other;
  for (const auto& reason : kIncompleteReasons) {
    if (!(snapshot.incompleteFlags & reason.bit)) continue;
    std::string& list = reason.thread ? threadCauses : other;
    list += (list.empty() ? "" : "; ") + std::string(reason.words);
  }
  std::string text;
  uint32_t n = snapshot.threadsNotStopped;
  if (n || !threadCauses.empty()) {
    if (threadCauses.empty()) threadCauses = "their registers could not be read";
    std::string count = n ? std::to_string(n) + " " : "";
    text = count + (n == 1 ? "thread" : "threads") + " not stopped (" + threadCauses + ")";
  }
  if (!other.empty()) text += (text.empty() ? "" : "; ") + other;
  return text.empty() ? "the trace does not say why (written before format 1.8)" : text;
}

}  // namespace tidemark::analysis
