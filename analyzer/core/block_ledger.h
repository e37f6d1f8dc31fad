// The replay's live blocks, each free matched to the allocation it ends. The tracer's
// rings are read one after another, so a free can come before its allocation, or after
// its address was handed out again on another ring, and the tracer's clock ticks every
// few milliseconds: times alone do not order them. Frees since format 1.7 say whose block
// they end (trace_format.h, kOwnBlock); plain frees are matched by ring and time.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "address_map.h"
#include "trace_reader.h"

namespace tidemark::analysis {

class BlockLedger {
 public:
  // One per live block, in 16 bytes: no size reaches 2^48 (user space is 2^47 bytes), no
  // ring index 2^16 (the tracer has 8,192), and times in ms last 49 days.
  struct Block {
    static constexpr uint64_t kMaxSize = (uint64_t{1} << 48) - 1;
    static constexpr uint32_t kNoRing = 0xffff;  // a block a forked child inherited
    Block() = default;
    Block(uint64_t bytes, uint32_t ringIndex, uint32_t stackId, uint64_t timeUs)
        : size(bytes < kMaxSize ? bytes : kMaxSize),
          ring(ringIndex < kNoRing ? ringIndex : kNoRing),
          stack(stackId),
          timeMs(static_cast<uint32_t>(timeUs / 1000)) {}

    uint64_t size : 48 = 0;
    uint64_t ring : 16 = 0;
    uint32_t stack = 0;
    uint32_t timeMs = 0;
  };

  // A free: whose block the tracer says it ends, on which ring, when; for a block of
  // another ring, that block's size and stack.
  struct Free {
    format::FreedBlock freed;
    uint32_t ring;
    uint64_t timeUs;
    uint64_t size;
    uint32_t stack;
  };

  enum class Allocated {
    Live,           // the only block at its address
    BesideAnother,  // live beside a block whose free is still to be read
    FreedAlready,   // a free read earlier ended it: not live
  };
  Allocated allocate(uint64_t address, const Block& block);
  // The block `free` ends; nullopt when it is still to be read (the free waits for it).
  std::optional<Block> free(uint64_t address, const Free& free);

  void prefetch(uint64_t address) const { live_.prefetch(address); }

 private:
  struct EarlyFree {
    Free free;
    uint32_t timeMs;
  };
  bool takeEarlyFree(uint64_t address, const Block& block);

  AddressMap<Block> live_;
  // Further blocks at an address, in the order read, whose frees are still to be read.
  std::unordered_map<uint64_t, std::vector<Block>> more_;
  // Frees read before their allocation, in time order. One with no allocation ever is of
  // a block from before tracing began.
  std::unordered_map<uint64_t, std::deque<EarlyFree>> early_;
};

}  // namespace tidemark::analysis
