// Leak classes over a trace's heap-graph snapshots: per snapshot the bytes and blocks of
// each class and the leaks grouped by allocation stack, with the first snapshot in which
// each was seen lost; the last complete snapshot's groups are the report's. And the
// snapshots that failed, with the reason the tracer gave.
#pragma once

#include <map>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "analysis.h"
#include "leak_classes.h"
#include "trace_reader.h"

namespace tidemark::analysis {

class SnapshotLeaks : public format::RecordVisitor {
 public:
  void onSnapshotBegin(const format::SnapshotInfo& info) override;
  void onSnapshotBlocks(const std::vector<format::SnapshotBlock>& blocks) override;
  void onSnapshotRoots(const std::vector<format::SnapshotRoot>& roots) override;
  void onSnapshotEdges(const std::vector<format::SnapshotEdge>& edges) override;
  void onSnapshotEnd(uint32_t id, uint64_t scanUs, uint32_t flags) override;
  void onSnapshotFailed(const format::SnapshotFailureInfo& failure) override;
  void onSnapshotUnreadable(const format::SnapshotUnreadable& memory) override;

  const std::vector<SnapshotSummary>& snapshots() const { return snapshots_; }
  // Leak groups of the last complete snapshot, without frames, largest first.
  const std::vector<LeakGroup>& leaks() const { return leaks_; }
  // `traceOver`: no more records will come, so a snapshot begun and never ended failed
  // too (a trace cut short, or written before version 1.5 named failures).
  std::vector<FailedSnapshot> failed(bool traceOver) const;

 private:
  struct BlockKey {
    uint64_t address;
    uint64_t allocTimeUs;
    bool operator==(const BlockKey&) const = default;
  };
  struct BlockKeyHash {
    size_t operator()(const BlockKey& k) const { return k.address * 31 + k.allocTimeUs; }
  };

  format::SnapshotInfo info_;
  bool open_ = false;
  HeapGraph graph_;
  std::vector<format::SnapshotEdge> edges_;
  std::vector<UnreadableMemory> unreadable_;
  // The last fault a scan died of, for the failure that follows: snapshot id, where.
  std::pair<uint32_t, std::string> fatalFault_{UINT32_MAX, ""};
  std::vector<SnapshotSummary> snapshots_;
  std::vector<LeakGroup> leaks_;
  std::vector<FailedSnapshot> failed_;
  // When each block that is lost now was first seen lost.
  std::unordered_map<BlockKey, double, BlockKeyHash> firstLost_;
  // A leak group: (kind, stack, retainer stack).
  using GroupKey = std::tuple<LeakKind, uint32_t, uint32_t>;
  // Each group's first complete snapshot: its time and the group's bytes then.
  std::map<GroupKey, std::pair<double, uint64_t>> firstGroups_;
};

}  // namespace tidemark::analysis
