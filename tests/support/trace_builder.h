// Writes synthetic traces for tests through the real encoder (ChunkEncoder and
// PackedWriter): the same bytes the tracer would write for the same events.
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "chunk_encoder.h"
#include "packed_writer.h"
#include "snapshot_writer.h"

namespace tidemark::test {

class MemorySink final : public format::ByteSink {
 public:
  bool write(const void* data, size_t bytes) override {
    this->bytes.append(static_cast<const char*>(data), bytes);
    return true;
  }
  std::string bytes;
};

class TraceBuilder {
 public:
  explicit TraceBuilder(int pid = 100, int parentPid = 1) {
    encoder_.open(&sink_, 3);
    format::ProcessInfoRecord r{};
    r.pointerBytes = 8;
    r.pageBytes = 4096;
    r.pid = pid;
    r.parentPid = parentPid;
    std::string exe = "/test/program";
    std::string cmd = std::string("program\0--flag", 14);
    encoder_.beginRecord(format::RecordKind::ProcessInfo, &r, sizeof r,
                         8 + exe.size() + cmd.size());
    encoder_.appendString(exe);
    encoder_.appendString(cmd);
    encoder_.endRecord();
  }

  // Packed events go to the batch of `ring`, written at the next flushBatch().
  TraceBuilder& attach(uint32_t ring, int32_t tid) {
    return put(ring, writer(ring).threadAttach(buf_, tid));
  }
  TraceBuilder& time(uint32_t ring, uint64_t us) { return put(ring, writer(ring).time(buf_, us)); }
  TraceBuilder& stack(uint32_t ring, uint32_t id, const std::vector<uintptr_t>& ips) {
    writer(ring);
    std::vector<uint8_t> big(format::PackedWriter::maxStackBytes(ips.size()));
    uint8_t* end = format::PackedWriter::stack(big.data(), id, ips.data(), ips.size());
    batches_[ring].insert(batches_[ring].end(), big.data(), end);
    return *this;
  }
  TraceBuilder& alloc(uint32_t ring, uint64_t address, uint64_t size, uint32_t stack) {
    return put(ring, writer(ring).alloc(buf_, format::AllocFunction::Malloc, address, size, stack));
  }
  // A block a forked child had from its parent (written first in a child's trace).
  TraceBuilder& inherit(uint32_t ring, uint64_t address, uint64_t size, uint32_t stack) {
    return put(ring,
               writer(ring).alloc(buf_, format::AllocFunction::Inherited, address, size, stack));
  }
  // `ownBlock`: the block was allocated on this ring (kOwnBlock).
  TraceBuilder& free(uint32_t ring, uint64_t address, bool ownBlock = false) {
    return put(ring, writer(ring).free(buf_, format::AllocFunction::Malloc, address, ownBlock));
  }
  // A free of a block another ring allocated, with its size and stack.
  TraceBuilder& freeOther(uint32_t ring, uint64_t address, uint64_t size, uint32_t stack) {
    return put(ring,
               writer(ring).freeOther(buf_, format::AllocFunction::Malloc, address, size, stack));
  }
  TraceBuilder& realloc(uint32_t ring, uint64_t old, uint64_t address, uint64_t size,
                        uint32_t stack, bool ownBlock = false) {
    return put(ring, writer(ring).realloc(buf_, old, address, size, stack, ownBlock));
  }
  TraceBuilder& detach(uint32_t ring) { return put(ring, writer(ring).threadDetach(buf_)); }

  // Writes the pending events of `ring` as one EventBatch record.
  TraceBuilder& flushBatch(uint32_t ring) {
    auto& bytes = batches_[ring];
    format::EventBatchRecord r{};
    r.ring = ring;
    encoder_.beginRecord(format::RecordKind::EventBatch, &r, sizeof r, bytes.size());
    encoder_.appendBytes(bytes.data(), bytes.size());
    encoder_.endRecord();
    bytes.clear();
    return *this;
  }

  TraceBuilder& sample(uint64_t timeUs, uint64_t rss) {
    format::ProcessSampleRecord r{};
    r.timeUs = timeUs;
    r.rssBytes = rss;
    encoder_.beginRecord(format::RecordKind::ProcessSample, &r, sizeof r, 0);
    encoder_.endRecord();
    return *this;
  }

  TraceBuilder& trailer(uint64_t timeUs, format::ExitReason reason = format::ExitReason::Normal) {
    format::TrailerRecord r{};
    r.timeUs = timeUs;
    r.exitReason = static_cast<uint32_t>(reason);
    encoder_.beginRecord(format::RecordKind::Trailer, &r, sizeof r, 0);
    encoder_.endRecord();
    return *this;
  }

  // A snapshot: `write` gets a SnapshotWriter whose records go into this trace.
  template <typename Write>
  TraceBuilder& snapshot(Write&& write) {
    struct RecordSink final : format::ByteSink {
      format::ChunkEncoder* encoder;
      bool write(const void* data, size_t bytes) override {
        return encoder->appendRecord(data, bytes);
      }
    } sink;
    sink.encoder = &encoder_;
    auto writer = std::make_unique<format::SnapshotWriter>(&sink);
    write(*writer);
    return *this;
  }

  // The tracer's record of a snapshot that failed (triggered periodically).
  TraceBuilder& snapshotFailed(uint32_t id, uint64_t timeUs, format::SnapshotFailure reason,
                               int32_t detail) {
    format::SnapshotFailedRecord r{};
    r.header = {format::RecordKind::SnapshotFailed, 0, sizeof r};
    r.snapshot = id;
    r.trigger = static_cast<uint32_t>(format::SnapshotTrigger::Periodic);
    r.timeUs = timeUs;
    r.reason = static_cast<uint32_t>(reason);
    r.detail = detail;
    encoder_.appendRecord(&r, sizeof r);
    return *this;
  }

  // Ends the current chunk (a recovery point).
  TraceBuilder& chunk() {
    encoder_.flush();
    return *this;
  }

  const std::string& bytes() {
    encoder_.flush();
    return sink_.bytes;
  }

  // Writes the trace (optionally only its first `limit` bytes) to `path`.
  void save(const std::string& path, size_t limit = std::string::npos) {
    const std::string& all = bytes();
    std::ofstream(path, std::ios::binary).write(all.data(), std::min(limit, all.size()));
  }

 private:
  format::PackedWriter& writer(uint32_t ring) {
    if (ring >= writers_.size()) {
      writers_.resize(ring + 1);
      batches_.resize(ring + 1);
    }
    return writers_[ring];
  }
  TraceBuilder& put(uint32_t ring, uint8_t* end) {
    batches_[ring].insert(batches_[ring].end(), buf_, end);
    return *this;
  }

  MemorySink sink_;
  format::ChunkEncoder encoder_;
  std::vector<format::PackedWriter> writers_;
  std::vector<std::vector<uint8_t>> batches_;
  uint8_t buf_[64];
};

}  // namespace tidemark::test

#include "analyze_trace.h"
#include "temp_path.h"

namespace tidemark::test {

// Saves the trace as `name` and analyses it without symbols.
inline analysis::Analysis analyzeBuilt(TraceBuilder& b, const char* name) {
  std::string path = tempPath(name);
  b.save(path);
  analysis::AnalyzeOptions options;
  options.symbolize = false;
  return analysis::analyzeTrace(path, options);
}

}  // namespace tidemark::test
