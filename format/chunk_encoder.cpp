// Record building and chunk compression for the trace writer.
#include "chunk_encoder.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_createCCtx_advanced: zstd's memory from ours
#include <zstd.h>

#include <algorithm>
#include <cstring>

namespace tidemark::format {
namespace {

void* mapBytes(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void unmapBytes(void* p, size_t bytes) { munmap(p, bytes); }

// zstd's allocations, each with its size in front, from the encoder's memory.
void* zstdAlloc(void* opaque, size_t bytes) {
  auto* memory = static_cast<const EncoderMemory*>(opaque);
  auto* p = static_cast<uint64_t*>(memory->map(bytes + 16));
  if (!p) return nullptr;
  p[0] = bytes + 16;
  return p + 2;
}

void zstdFree(void* opaque, void* address) {
  if (!address) return;
  auto* memory = static_cast<const EncoderMemory*>(opaque);
  auto* p = static_cast<uint64_t*>(address) - 2;
  memory->unmap(p, p[0]);
}

// After a chunk of `used` bytes: when the buffer's pages written for earlier chunks go
// well beyond it, they go back to the kernel (a program whose first chunks were large,
// its libraries and stacks, and whose later ones are small would keep a megabyte or two
// resident in these buffers for ever). Steady chunk sizes give nothing back.
void trimBuffer(uint8_t* buffer, size_t used, size_t* touched) {
  constexpr size_t kPage = 4096;
  constexpr size_t kLeastWorthTrimming = 256 * 1024;
  size_t keep = (used + kPage - 1) & ~(kPage - 1);
  *touched = std::max(*touched, keep);
  if (*touched - keep >= kLeastWorthTrimming && *touched > 2 * keep) {
    // Not through madvise(): in the tracer that is the program's hook, and this is no
    // memory of the program's.
    syscall(SYS_madvise, buffer + keep, *touched - keep, MADV_DONTNEED);
    *touched = keep;
  }
}

}  // namespace

ChunkEncoder::~ChunkEncoder() {
  if (cctx_) ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
  if (raw_) memory_.unmap(raw_, kRawCapacity);
  if (compressed_) memory_.unmap(compressed_, compressedCapacity_);
}

bool ChunkEncoder::prepare(ByteSink* sink, int compressionLevel, const EncoderMemory* memory) {
  sink_ = sink;
  memory_ = memory ? *memory : EncoderMemory{mapBytes, unmapBytes};
  compressedCapacity_ = sizeof(ChunkHeader) + ZSTD_compressBound(kRawCapacity);
  raw_ = static_cast<uint8_t*>(memory_.map(kRawCapacity));
  compressed_ = static_cast<uint8_t*>(memory_.map(compressedCapacity_));
  auto* cctx = ZSTD_createCCtx_advanced(ZSTD_customMem{zstdAlloc, zstdFree, &memory_});
  cctx_ = cctx;
  if (!raw_ || !compressed_ || !cctx) return !(failed_ = true);
  setCompressionLevel(compressionLevel);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  return true;
}

bool ChunkEncoder::open(ByteSink* sink, int compressionLevel, const EncoderMemory* memory) {
  if (!prepare(sink, compressionLevel, memory)) return false;
  FileHeader header{};
  memcpy(header.magic, kFileMagic, sizeof header.magic);
  header.versionMajor = kVersionMajor;
  header.versionMinor = kVersionMinor;
  header.headerBytes = sizeof header;
  if (!sink_->write(&header, sizeof header)) failed_ = true;
  return !failed_;
}

bool ChunkEncoder::openToAppend(ByteSink* sink, uint32_t chunks) {
  sequence_ = chunks;
  return prepare(sink, 3, nullptr);
}

void ChunkEncoder::setCompressionLevel(int level) {
  if (cctx_) ZSTD_CCtx_setParameter(static_cast<ZSTD_CCtx*>(cctx_), ZSTD_c_compressionLevel, level);
}

bool ChunkEncoder::beginRecord(RecordKind kind, const void* fixed, size_t fixedBytes,
                               size_t maxExtraBytes) {
  size_t need = fixedBytes + maxExtraBytes;
  if (failed_ || need > kRawCapacity) return false;
  if (used_ + need > kRawCapacity && !flush()) return false;
  recordStart_ = used_;
  recordLimit_ = used_ + need;
  memcpy(raw_ + used_, fixed, fixedBytes);
  auto* header = reinterpret_cast<RecordHeader*>(raw_ + used_);
  header->kind = kind;
  header->reserved = 0;
  used_ += fixedBytes;
  return true;
}

void ChunkEncoder::appendBytes(const void* data, size_t bytes) {
  // Clamped: a caller that understated its maximum loses the tail, never overruns.
  if (used_ + bytes > recordLimit_) bytes = recordLimit_ - used_;
  memcpy(raw_ + used_, data, bytes);
  used_ += bytes;
}

void ChunkEncoder::appendString(std::string_view text) {
  uint32_t length = static_cast<uint32_t>(text.size());
  appendBytes(&length, sizeof length);
  appendBytes(text.data(), text.size());
}

void ChunkEncoder::endRecord() {
  uint32_t length = static_cast<uint32_t>(used_ - recordStart_);
  memcpy(raw_ + recordStart_ + offsetof(RecordHeader, length), &length, sizeof length);
}

bool ChunkEncoder::appendRecord(const void* record, size_t bytes) {
  if (bytes < sizeof(RecordHeader)) return false;
  if (!beginRecord(static_cast<const RecordHeader*>(record)->kind, record, bytes, 0)) return false;
  endRecord();
  return true;
}

bool ChunkEncoder::flush() {
  if (failed_) return false;
  if (used_ == 0) return true;
  auto* cctx = static_cast<ZSTD_CCtx*>(cctx_);
  // The header goes in front of the frame: one write, so that a write that fails leaves
  // the file whole up to the chunk before (the tracer's file cuts itself back there).
  size_t n = ZSTD_compress2(cctx, compressed_ + sizeof(ChunkHeader),
                            compressedCapacity_ - sizeof(ChunkHeader), raw_, used_);
  if (ZSTD_isError(n)) return !(failed_ = true);
  ChunkHeader chunk{kChunkMagic, static_cast<uint32_t>(n), static_cast<uint32_t>(used_), sequence_};
  memcpy(compressed_, &chunk, sizeof chunk);
  if (!sink_->write(compressed_, sizeof chunk + n)) return !(failed_ = true);
  ++sequence_;
  lastRaw_ = used_;
  lastCompressed_ = n;
  trimBuffer(raw_, used_, &rawTouched_);
  trimBuffer(compressed_, sizeof chunk + n, &compressedTouched_);
  used_ = 0;
  return true;
}

void ChunkEncoder::discardAfterFailure() {
  used_ = 0;
  failed_ = !raw_ || !compressed_ || !cctx_;  // an encoder that never opened stays failed
}

}  // namespace tidemark::format
