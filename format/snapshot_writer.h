// Encodes a heap-graph snapshot as whole records (layout in trace_format.h) into a sink:
// the tracer's scanning child writes them into a pipe, tests into a trace. Fixed memory,
// no allocation. Order: begin, blocks (ascending addresses), roots, edges (ascending
// sources), memory the scan could not read, end.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "chunk_encoder.h"
#include "trace_format.h"
#include "varint.h"

namespace tidemark::format {

class SnapshotWriter {
 public:
  // `id`: the snapshot's, for what is written before begin() (a fault the scan dies of).
  explicit SnapshotWriter(ByteSink* out, uint32_t id = 0) : out_(out), id_(id) {}

  bool begin(SnapshotBeginRecord record) {
    id_ = record.id;
    previousAddress_ = previousSource_ = 0;
    partOpen_ = false;
    count_ = 0;
    record.header = {RecordKind::SnapshotBegin, 0, sizeof record};
    return out_->write(&record, sizeof record);
  }
  bool block(uint64_t address, uint64_t size, uint32_t stack, uint64_t allocTimeUs) {
    uint8_t* p = entry(RecordKind::SnapshotBlocks);
    p = putVarint(p, zigzag(static_cast<int64_t>(address - previousAddress_)));
    previousAddress_ = address;
    p = putVarint(p, size);
    p = putVarint(p, stack);
    return commit(putVarint(p, allocTimeUs));
  }
  bool root(RootKind kind, PointerKind pointer, uint64_t block, uint64_t location) {
    uint8_t* p = entry(RecordKind::SnapshotRoots);
    p = putVarint(p, static_cast<uint64_t>(kind) << 3 | static_cast<uint64_t>(pointer));
    p = putVarint(p, block);
    return commit(putVarint(p, location));
  }
  bool edge(uint64_t from, uint64_t to, PointerKind pointer) {
    uint8_t* p = entry(RecordKind::SnapshotEdges);
    p = putVarint(p, from - previousSource_);
    previousSource_ = from;
    // Relative: pointers mostly lead to blocks allocated nearby (lists, trees).
    return commit(putVarint(
        p, zigzag(static_cast<int64_t>(to - from)) << 3 | static_cast<uint64_t>(pointer)));
  }
  // `mapping`: its line in /proc/PID/maps (cut to what fits); `fatal`: the scan dies of it.
  bool unreadable(uint64_t begin, uint64_t end, int32_t signal, int32_t code, const char* mapping,
                  bool fatal = false) {
    if (!flushPart()) return false;
    uint32_t length = static_cast<uint32_t>(std::min(strlen(mapping), kMaxMappingBytes));
    SnapshotUnreadableRecord record{};
    record.header = {RecordKind::SnapshotUnreadable, 0,
                     static_cast<uint32_t>(sizeof record + sizeof length + length)};
    record.snapshot = id_;
    record.signal = signal;
    record.begin = begin;
    record.end = end;
    record.code = code;
    record.flags = fatal ? kUnreadableFatal : 0;
    memcpy(part_, &record, sizeof record);
    memcpy(part_ + sizeof record, &length, sizeof length);
    memcpy(part_ + sizeof record + sizeof length, mapping, length);
    return out_->write(part_, record.header.length);
  }
  // `incomplete`: what the scan found it could not see (kSnapshotBlocksUnreadable,
  // kSnapshotGuardLostMemory); 0 for a complete snapshot.
  bool end(bool) = delete;  // say why, not whether
  bool end(uint32_t incomplete = 0) {
    if (!flushPart()) return false;
    uint32_t flags = incomplete ? kSnapshotIncomplete | incomplete : 0;
    SnapshotEndRecord record{{RecordKind::SnapshotEnd, 0, sizeof record}, id_, flags, 0};
    return out_->write(&record, sizeof record);
  }

 private:
  static constexpr size_t kPartBytes = 64 * 1024;
  static constexpr size_t kMaxEntryBytes = 4 * 10;
  static constexpr size_t kMaxMappingBytes = 4096;

  // Where the next entry of `kind` goes; starts a new part when the kind changes or the
  // part is full.
  uint8_t* entry(RecordKind kind) {
    if (!partOpen_ || kind != partKind_ || used_ + kMaxEntryBytes > kPartBytes) {
      if (!flushPart()) failed_ = true;
      partKind_ = kind;
      partOpen_ = true;
      used_ = sizeof(SnapshotPartRecord);
    }
    return part_ + used_;
  }
  bool commit(uint8_t* end) {
    used_ = static_cast<size_t>(end - part_);
    ++count_;
    return !failed_;
  }
  bool flushPart() {
    if (count_ == 0) return !failed_;
    SnapshotPartRecord header{{partKind_, 0, static_cast<uint32_t>(used_)}, id_, count_};
    memcpy(part_, &header, sizeof header);
    count_ = 0;
    return out_->write(part_, used_) && !failed_;
  }

  ByteSink* out_;
  uint32_t id_ = 0;
  RecordKind partKind_ = RecordKind::SnapshotBlocks;
  bool partOpen_ = false;
  uint32_t count_ = 0;
  size_t used_ = 0;
  uint64_t previousAddress_ = 0;
  uint64_t previousSource_ = 0;
  bool failed_ = false;
  uint8_t part_[kPartBytes];
};

}  // namespace tidemark::format
