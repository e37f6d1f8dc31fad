// Builds records into a raw chunk buffer and writes them as zstd-compressed chunks.
// Used by the tracer's writer thread and by tests. Not thread-safe: one owner.
// Memory comes from mmap, never malloc (zstd's own context aside, made at open()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "trace_format.h"

namespace tidemark::format {

// Where finished bytes go: a file descriptor in the tracer, memory in tests.
class ByteSink {
 public:
  virtual bool write(const void* data, size_t bytes) = 0;

 protected:
  ~ByteSink() = default;
};

// Where the encoder's memory comes from. The tracer passes its own arena, so that a
// heap-graph snapshot can leave the encoder's buffers (full of addresses) out of its roots.
struct EncoderMemory {
  void* (*map)(size_t bytes);  // zeroed, page-aligned; nullptr on failure
  void (*unmap)(void* p, size_t bytes);
};

class ChunkEncoder {
 public:
  static constexpr size_t kRawCapacity = 4u << 20;

  ChunkEncoder() = default;
  ChunkEncoder(const ChunkEncoder&) = delete;
  ChunkEncoder& operator=(const ChunkEncoder&) = delete;
  ~ChunkEncoder();

  // Writes the file header. Returns false when memory or the sink fails. Memory comes from
  // `memory` (mmap when null), zstd's included.
  bool open(ByteSink* sink, int compressionLevel, const EncoderMemory* memory = nullptr);
  // For chunks that go on a trace of `chunks` whole chunks (cut back to them): no file
  // header, sequence numbers from `chunks` on.
  bool openToAppend(ByteSink* sink, uint32_t chunks);

  // Starts a record of `kind` whose fixed part is `fixedBytes` long (copied from `fixed`,
  // whose RecordHeader is filled in here) and whose variable part will take at most
  // `maxExtraBytes`. Flushes first if the chunk has no room. Returns false on failure.
  bool beginRecord(RecordKind kind, const void* fixed, size_t fixedBytes, size_t maxExtraBytes);
  void appendBytes(const void* data, size_t bytes);
  void appendString(std::string_view text);
  void endRecord();

  // Appends one whole record made elsewhere (its header's length must be `bytes`).
  bool appendRecord(const void* record, size_t bytes);

  // Compresses and writes the buffered records as one chunk, in one write to the sink
  // (no-op when empty).
  bool flush();
  // After a write failed: forgets the buffered records and the failure, so that a sink
  // that cut itself back to its last whole chunk can take one more (the trailer).
  void discardAfterFailure();

  // For the chunks to come (zstd levels 1-19).
  void setCompressionLevel(int level);
  // Raw and compressed bytes of the last chunk written.
  size_t lastRawBytes() const { return lastRaw_; }
  size_t lastCompressedBytes() const { return lastCompressed_; }

  size_t bufferedBytes() const { return used_; }
  bool failed() const { return failed_; }

 private:
  // Memory, zstd's context and its settings: all but the file header.
  bool prepare(ByteSink* sink, int compressionLevel, const EncoderMemory* memory);

  ByteSink* sink_ = nullptr;
  EncoderMemory memory_{};
  void* cctx_ = nullptr;
  uint8_t* raw_ = nullptr;
  uint8_t* compressed_ = nullptr;
  size_t compressedCapacity_ = 0;
  size_t used_ = 0;
  size_t recordStart_ = 0;
  size_t recordLimit_ = 0;
  uint32_t sequence_ = 0;
  size_t lastRaw_ = 0;
  size_t lastCompressed_ = 0;
  size_t rawTouched_ = 0;  // bytes of raw_ (whole pages) that may be resident
  size_t compressedTouched_ = 0;
  bool failed_ = false;
};

}  // namespace tidemark::format
