// Per-thread event rings: each traced thread owns one single-producer/single-consumer
// byte ring; the writer thread drains them all. Rings live in mmap'ed memory, are
// registered once and recycled when their thread ends, and are never freed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "../format/packed_writer.h"
#include "frame_rules.h"
#include "live_blocks.h"
#include "stack_capture.h"

namespace tidemark::preload {

enum class RingState : uint32_t { Free, Owned, Exited };

struct Ring {
  static constexpr size_t kBytes = size_t{1} << 20;

  // Owner side. head and tail only grow; their difference is the bytes not drained.
  std::atomic<uint64_t> head{0};
  std::atomic<uint64_t> tail{0};
  std::atomic<RingState> state{RingState::Free};
  std::atomic<int32_t> tid{0};  // 0 until the owner has bound it (recorder.cpp: bindRing)
  std::atomic<uint64_t> events{0};
  // Set while the owner changes the live-block table: a snapshot never stops it then.
  std::atomic<uint32_t> busy{0};
  uint32_t index = 0;
  uintptr_t stackProbe = 0;     // an address on the owner's stack, to find its mapping
  format::PackedWriter packer;  // owner only: the encoding state of this ring
  char ownerName[16] = {};      // the thread's name at attach and at exit (prctl)
  // The owner's most recent stacks: a handler's allocations repeat a few stacks, and a
  // compare in L1 is cheaper than hashing into the shared table. id 0: empty.
  struct RecentStack {
    uint32_t id;
    uint32_t depth;
    uintptr_t ips[kMaxFrames];
  };
  static constexpr uint32_t kRecentStacks = 4;
  RecentStack recent[kRecentStacks] = {};
  uint32_t recentNext = 0;  // round-robin replacement
  uint8_t* data = nullptr;
  UnwindState unwind;  // owner only; its ruleScratch lies just before `data`
  // The live blocks this ring's threads allocated (kept when the ring is reused: they
  // are still live). Other threads lock it to free its blocks.
  BlockTable blocks;
  // Owner only: a block realloc took out of the tables and has not yet moved or freed
  // (recorder.h, ReallocSource): still live for a snapshot. Address 0: none.
  LiveBlock reallocating{};
  // Owner only: the ring whose table held the last block of another's this one freed.
  uint32_t lastRemoteRing = 0;

  // Writer side: read up to here (the tail may stay behind it, within a page, until the
  // page is whole: see the writer's drainRing).
  uint64_t drained = 0;
  // What the trace has already been told about this ring's thread.
  int32_t describedTid = 0;
  uint64_t stackLow = 0;
  uint64_t stackHigh = 0;
  char describedName[16] = {};
};

class RingRegistry {
 public:
  static constexpr uint32_t kMaxRings = 8192;

  bool init();
  // A free ring for the calling thread, or nullptr when every ring is taken.
  Ring* acquire();
  uint32_t count() const { return count_.load(std::memory_order_acquire); }
  // Whether a thread holds a ring (has recorded and not ended).
  bool anyOwned() const;
  // nullptr while a new ring is being published.
  Ring* at(uint32_t i) const { return rings_[i].load(std::memory_order_acquire); }
  // In a forked child: every ring but `keep` belonged to a thread that is gone there.
  void resetAfterFork(Ring* keep);
  // Removes a block freed by a thread other than the one that allocated it; false when no
  // table has it.
  bool eraseRemote(uint64_t address, Ring* own, LiveBlock* erased);
  uint64_t liveBlockCount() const;

 private:
  std::atomic<Ring*>* rings_ = nullptr;
  std::atomic<uint32_t> count_{0};
};

extern RingRegistry rings;

// Appends one encoded event to the ring, waiting for the writer when the ring is full.
// Returns false when recording stopped meanwhile (the trace has ended).
bool ringWrite(Ring* ring, const uint8_t* bytes, size_t n);

}  // namespace tidemark::preload
