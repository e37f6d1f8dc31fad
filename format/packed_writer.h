// Encodes packed events (layout in trace_format.h) into a caller's buffer. Holds the
// per-ring state the decoder mirrors. Allocation-free: the tracer's hooks use it.
#pragma once

#include <cstdint>

#include "trace_format.h"
#include "varint.h"

namespace tidemark::format {

class PackedWriter {
 public:
  // Resets the state, as the decoder does at this op.
  uint8_t* threadAttach(uint8_t* out, int32_t tid) {
    lastAddress_ = 0;
    lastTimeUs_ = UINT64_MAX;
    *out++ = code(PackedOp::ThreadAttach);
    return putVarint(out, static_cast<uint32_t>(tid));
  }
  uint8_t* threadDetach(uint8_t* out) {
    *out++ = code(PackedOp::ThreadDetach);
    return out;
  }
  // A Time op, only when the time moved since the last one.
  uint8_t* time(uint8_t* out, uint64_t timeUs) {
    if (timeUs == lastTimeUs_) return out;
    lastTimeUs_ = timeUs;
    *out++ = code(PackedOp::Time);
    return putVarint(out, timeUs);
  }
  // The time of the last Time op (UINT64_MAX before the first).
  uint64_t lastTimeUs() const { return lastTimeUs_; }

  uint8_t* alloc(uint8_t* out, AllocFunction function, uint64_t address, uint64_t size,
                 uint32_t stack) {
    *out++ = code(PackedOp::Alloc, static_cast<unsigned>(function));
    out = putVarint(out, size);
    out = putVarint(out, stack);
    return address_(out, address);
  }
  // `ownBlock`: the block was allocated on this ring (kOwnBlock).
  uint8_t* free(uint8_t* out, AllocFunction function, uint64_t address, bool ownBlock) {
    *out++ = code(PackedOp::Free, static_cast<unsigned>(function) | (ownBlock ? kOwnBlock : 0));
    return address_(out, address);
  }
  // A block another ring allocated, with its size and stack.
  uint8_t* freeOther(uint8_t* out, AllocFunction function, uint64_t address, uint64_t size,
                     uint32_t stack) {
    *out++ = code(PackedOp::FreeOther, static_cast<unsigned>(function));
    out = address_(out, address);
    out = putVarint(out, size);
    return putVarint(out, stack);
  }
  // `ownBlock`: the old block was allocated on this ring (kOwnBlock).
  uint8_t* realloc(uint8_t* out, uint64_t oldAddress, uint64_t address, uint64_t size,
                   uint32_t stack, bool ownBlock) {
    *out++ = code(PackedOp::Realloc, ownBlock ? kOwnBlock : 0);
    out = putVarint(out, size);
    out = putVarint(out, stack);
    out = address_(out, oldAddress);
    return address_(out, address);
  }
  uint8_t* mmap(uint8_t* out, uint64_t address, uint64_t length, uint32_t stack) {
    *out++ = code(PackedOp::Mmap);
    out = address_(out, address);
    out = putVarint(out, length);
    return putVarint(out, stack);
  }
  uint8_t* munmap(uint8_t* out, uint64_t address, uint64_t length) {
    *out++ = code(PackedOp::Munmap);
    out = address_(out, address);
    return putVarint(out, length);
  }
  // A label; `out` needs room for 2 + kMaxMarkBytes.
  static uint8_t* mark(uint8_t* out, const char* label) {
    size_t length = 0;
    while (label[length] && length < kMaxMarkBytes) ++length;
    *out++ = code(PackedOp::Mark);
    out = putVarint(out, length);
    for (size_t i = 0; i < length; ++i) *out++ = static_cast<uint8_t>(label[i]);
    return out;
  }
  // A stack definition: `out` needs room for kMaxStackBytes.
  static constexpr size_t maxStackBytes(uint32_t depth) { return 1 + 2 * 10 + depth * 10; }
  static uint8_t* stack(uint8_t* out, uint32_t id, const uintptr_t* ips, uint32_t depth) {
    *out++ = code(PackedOp::Stack);
    out = putVarint(out, id);
    out = putVarint(out, depth);
    uintptr_t previous = 0;
    for (uint32_t i = 0; i < depth; ++i) {
      out = putVarint(out, zigzag(static_cast<int64_t>(ips[i] - previous)));
      previous = ips[i];
    }
    return out;
  }

 private:
  static uint8_t code(PackedOp op, unsigned detail = 0) {
    return static_cast<uint8_t>(static_cast<unsigned>(op) | (detail << 4));
  }
  uint8_t* address_(uint8_t* out, uint64_t address) {
    out = putVarint(out, zigzag(static_cast<int64_t>(address - lastAddress_)));
    lastAddress_ = address;
    return out;
  }

  uint64_t lastAddress_ = 0;
  uint64_t lastTimeUs_ = UINT64_MAX;
};

}  // namespace tidemark::format
