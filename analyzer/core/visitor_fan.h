// Forwards every record to several visitors, so that each aggregator stays one class
// answering one question while the trace is read once.
#pragma once

#include <vector>

#include "trace_reader.h"

namespace tidemark::analysis {

class VisitorFan : public format::RecordVisitor {
 public:
  explicit VisitorFan(std::vector<format::RecordVisitor*> visitors)
      : visitors_(std::move(visitors)) {}

#define TIDEMARK_FAN(method, Param)             \
  void method(Param value) override {           \
    for (auto* v : visitors_) v->method(value); \
  }
  TIDEMARK_FAN(onProcessInfo, const format::ProcessInfo&)
  TIDEMARK_FAN(onModuleLoad, const format::ModuleInfo&)
  TIDEMARK_FAN(onThreadInfo, const format::ThreadInfo&)
  TIDEMARK_FAN(onEvents, std::span<const format::Event>)
  TIDEMARK_FAN(onSample, const format::ProcessSample&)
  TIDEMARK_FAN(onTrailer, const format::Trailer&)
  TIDEMARK_FAN(onExecFailed, uint64_t)
  TIDEMARK_FAN(onSnapshotBegin, const format::SnapshotInfo&)
  TIDEMARK_FAN(onSnapshotBlocks, const std::vector<format::SnapshotBlock>&)
  TIDEMARK_FAN(onSnapshotRoots, const std::vector<format::SnapshotRoot>&)
  TIDEMARK_FAN(onSnapshotEdges, const std::vector<format::SnapshotEdge>&)
  TIDEMARK_FAN(onSnapshotFailed, const format::SnapshotFailureInfo&)
  TIDEMARK_FAN(onSnapshotUnreadable, const format::SnapshotUnreadable&)
#undef TIDEMARK_FAN

  void onModuleUnload(uint64_t timeUs, uint64_t loadBias) override {
    for (auto* v : visitors_) v->onModuleUnload(timeUs, loadBias);
  }
  void onStack(uint32_t id, const std::vector<uint64_t>& ips) override {
    for (auto* v : visitors_) v->onStack(id, ips);
  }
  void onSnapshotEnd(uint32_t id, uint64_t scanUs, uint32_t flags) override {
    for (auto* v : visitors_) v->onSnapshotEnd(id, scanUs, flags);
  }
  void onMark(int32_t tid, uint64_t timeUs, const std::string& label) override {
    for (auto* v : visitors_) v->onMark(tid, timeUs, label);
  }
  void onThreadEnd(int32_t tid, uint64_t timeUs) override {
    for (auto* v : visitors_) v->onThreadEnd(tid, timeUs);
  }

 private:
  std::vector<format::RecordVisitor*> visitors_;
};

}  // namespace tidemark::analysis
