// The JSON report (schema: docs/json.md). Field names are a public contract.
#include "leak_classes.h"
#include "report.h"

namespace tidemark::cli {

using nlohmann::json;

namespace {

json frameJson(const analysis::Frame& f) {
  return {{"function", f.function}, {"file", f.file},       {"line", f.line},
          {"module", f.module},     {"inlined", f.inlined}, {"address", f.address}};
}

json stackJson(const std::vector<analysis::Frame>& frames) {
  json stack = json::array();
  for (const auto& f : frames) stack.push_back(frameJson(f));
  return stack;
}

}  // namespace

json snapshotJson(const analysis::SnapshotSummary& snap) {
  json bytes, blocks;
  for (auto kind : {analysis::LeakKind::Reachable, analysis::LeakKind::Possible,
                    analysis::LeakKind::Indirect, analysis::LeakKind::Definite}) {
    bytes[analysis::leakKindName(kind)] = snap.bytes[static_cast<int>(kind)];
    blocks[analysis::leakKindName(kind)] = snap.blocks[static_cast<int>(kind)];
  }
  json viaHeuristic = json::object();
  for (uint8_t k = 0; k < format::kPointerKinds; ++k) {
    const char* name = analysis::heuristicName(static_cast<format::PointerKind>(k));
    if (!name || snap.heuristicBlocks[k] == 0) continue;
    viaHeuristic[name] = {{"bytes", snap.heuristicBytes[k]}, {"blocks", snap.heuristicBlocks[k]}};
  }
  json unreadable = json::array();
  for (const auto& u : snap.unreadable) {
    unreadable.push_back(
        {{"address", u.address}, {"bytes", u.bytes}, {"signal", u.signal}, {"mapping", u.mapping}});
  }
  return {{"id", snap.id},
          {"time_s", snap.timeS},
          {"trigger", snap.trigger},
          {"complete", snap.complete},
          {"guarded", snap.guarded},
          {"pause_ms", snap.pauseMs},
          {"scan_ms", snap.scanMs},
          {"bytes", bytes},
          {"blocks", blocks},
          {"reachable_via_heuristic", viaHeuristic},
          {"unreadable", unreadable},
          {"incomplete_reasons", analysis::incompleteReasonNames(snap)},
          {"threads_not_stopped", snap.threadsNotStopped}};
}

json failedSnapshotJson(const analysis::FailedSnapshot& f) {
  return {{"id", f.id}, {"time_s", f.timeS}, {"trigger", f.trigger}, {"reason", f.reason}};
}

json jsonReport(const analysis::Analysis& a, size_t top) {
  const auto& s = a.summary;
  json out;
  out["trace"] = a.path;
  out["summary"] = {
      {"pid", s.pid},
      {"parent_pid", s.parentPid},
      {"exec_generation", s.execGeneration},
      {"executable", s.executable},
      {"arguments", s.arguments},
      {"duration_s", s.durationS},
      {"allocations", s.allocations},
      {"frees", s.frees},
      {"allocated_bytes", s.allocatedBytes},
      {"temporary_allocations", s.temporaryAllocations},
      {"peak_heap_bytes", s.peakHeapBytes},
      {"peak_heap_time_s", s.peakHeapTimeS},
      {"peak_rss_bytes", s.peakRssBytes},
      {"peak_rss_time_s", s.peakRssTimeS},
      {"peak_stack_bytes", s.peakStackBytes},
      {"leaked_bytes", s.leakedBytes},
      {"leaked_blocks", s.leakedBlocks},
      {"inherited_bytes", s.inheritedBytes},
      {"inherited_blocks", s.inheritedBlocks},
      {"mapped_bytes_at_exit", s.mappedBytesAtExit},
      {"dropped_events", s.droppedEvents},
      {"complete", s.complete},
      {"exit_reason", s.exitReason},
      {"truncated", s.truncated},
      {"tracing_stopped", s.tracingStopped},
      {"corruption", s.corruption},
      {"corrupt_at_byte", s.corruptAtByte},
      {"end_written_by", s.endWrittenBy},
  };
  json sites = json::array();
  for (size_t i = 0; i < a.sites.size() && (top == 0 || i < top); ++i) {
    const auto& site = a.sites[i];
    sites.push_back({{"stack_id", site.stack},
                     {"leaked_bytes", site.leakedBytes},
                     {"leaked_blocks", site.leakedBlocks},
                     {"allocations", site.allocations},
                     {"allocated_bytes", site.allocatedBytes},
                     {"temporary_allocations", site.temporaryAllocations},
                     {"peak_bytes", site.peakBytes},
                     {"stack", stackJson(site.frames)}});
  }
  out["sites"] = std::move(sites);
  json timeline = json::array();
  for (const auto& p : a.timeline) {
    timeline.push_back({{"time_s", p.timeUs / 1e6},
                        {"heap_bytes", p.heapBytes},
                        {"rss_bytes", p.rssBytes},
                        {"stack_bytes", p.stackBytes},
                        {"allocations", p.allocations}});
  }
  out["timeline"] = std::move(timeline);
  json threads = json::array();
  for (const auto& t : a.threads) {
    threads.push_back({{"tid", t.tid},
                       {"name", t.name},
                       {"stack_reserved_bytes", t.stackBytesReserved},
                       {"peak_stack_resident_bytes", t.peakStackResidentBytes},
                       {"first_seen_s", t.firstSeenS},
                       {"end_s", t.endS}});
  }
  out["threads"] = std::move(threads);
  json marks = json::array();
  for (const auto& m : a.marks) {
    marks.push_back({{"time_s", m.timeS}, {"tid", m.tid}, {"label", m.label}});
  }
  out["marks"] = std::move(marks);
  json snapshots = json::array();
  for (const auto& snap : a.snapshots) snapshots.push_back(snapshotJson(snap));
  out["snapshots"] = std::move(snapshots);
  json failed = json::array();
  for (const auto& f : a.failedSnapshots) failed.push_back(failedSnapshotJson(f));
  out["snapshots_failed"] = std::move(failed);
  json leaks = json::array();
  for (const auto& group : a.leaks) {
    json leak = {{"kind", analysis::leakKindName(group.kind)},
                 {"bytes", group.bytes},
                 {"blocks", group.blocks},
                 {"first_seen_s", group.firstSeenS},
                 {"first_group_s", group.firstGroupS},
                 {"first_group_bytes", group.firstGroupBytes},
                 {"stack_id", group.stack},
                 {"stack", stackJson(group.frames)}};
    if (group.kind == analysis::LeakKind::Definite) leak["indirect_bytes"] = group.indirectBytes;
    if (group.kind == analysis::LeakKind::Indirect) {
      leak["retained_by_stack_id"] = group.retainedByStack;
    }
    leaks.push_back(std::move(leak));
  }
  out["leaks"] = std::move(leaks);
  out["warnings"] = a.warnings;
  return out;
}

json jsonComparison(const analysis::Comparison& c, size_t top) {
  json sites = json::array();
  for (size_t i = 0; i < c.sites.size() && (top == 0 || i < top); ++i) {
    const auto& change = c.sites[i];
    sites.push_back({{"stack_id", change.site->stack},
                     {"net_bytes", change.netBytes()},
                     {"net_blocks", change.netBlocks},
                     {"added_bytes", change.addedBytes},
                     {"added_blocks", change.addedBlocks},
                     {"removed_bytes", change.removedBytes},
                     {"removed_blocks", change.removedBlocks},
                     {"bytes_before", change.bytesBefore},
                     {"bytes_after", change.bytesAfter},
                     {"stack", stackJson(change.site->frames)}});
  }
  return {{"from_s", c.fromS},           {"to_s", c.toS},
          {"added_bytes", c.addedBytes}, {"removed_bytes", c.removedBytes},
          {"net_bytes", c.netBytes},     {"sites", sites}};
}

}  // namespace tidemark::cli
