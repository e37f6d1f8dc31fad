// Per-thread live-block tables (see live_blocks.h): a short list of recent blocks in
// front of two hash tables, one of packed blocks and one of the rest.
#include "live_blocks.h"

#include <sched.h>

namespace tidemark::preload {
namespace {

class TableLock {
 public:
  explicit TableLock(std::atomic<uint32_t>& word) : word_(word) {
    for (unsigned spins = 0;; ++spins) {
      if (word_.load(std::memory_order_relaxed) == 0 &&
          word_.exchange(1, std::memory_order_acquire) == 0) {
        return;
      }
      if (spins > 100) sched_yield();  // the holder was preempted
    }
  }
  ~TableLock() { word_.store(0, std::memory_order_release); }

 private:
  std::atomic<uint32_t>& word_;
};

}  // namespace

void BlockTable::flushRecent() {
  uint32_t wide = 0;
  for (uint32_t i = 0; i < recentCount_; ++i) {
    wide += recent_[i].size >= PackedBlock::kSizeKeptBeside ||
            !PackedBlock::addressFits(recent_[i].address);
  }
  if (!packed_.makeRoom(recentCount_) || !wide_.makeRoom(wide)) {
    recentCount_ = 0;  // out of memory: these blocks go unseen, as they would have before
    return;
  }
  for (uint32_t i = 0; i < recentCount_; ++i) packed_.prefetch(recent_[i].address);
  for (uint32_t i = 0; i < recentCount_; ++i) place(recent_[i]);
  recentCount_ = 0;
}

// An address seen live again replaces its old entry.
void BlockTable::place(const LiveBlock& block) {
  WideBlock oldWide;
  if (!PackedBlock::addressFits(block.address)) {
    wide_.place(WideBlock{block}, &oldWide);
    return;
  }
  PackedBlock packed = PackedBlock::of(block);
  PackedBlock old;
  if (packed_.place(packed, &old) && old.sizeKeptBeside()) {
    --keptBeside_;
    if (!packed.sizeKeptBeside()) wide_.erase(block.address, &oldWide);
  }
  if (packed.sizeKeptBeside()) {
    ++keptBeside_;
    wide_.place(WideBlock{block}, &oldWide);
  }
}

void BlockTable::insert(const LiveBlock& block) {
  TableLock lock(lock_);
  // Before the block is in: whoever frees it got it after this.
  if (!used_.load(std::memory_order_relaxed)) used_.store(true, std::memory_order_relaxed);
  for (uint32_t i = 0; i < recentCount_; ++i) {
    if (recent_[i].address == block.address) {
      recent_[i] = block;  // seen live again: replaces its old entry
      return;
    }
  }
  if (recentCount_ == kRecent) flushRecent();
  recent_[recentCount_++] = block;
}

bool BlockTable::erase(uint64_t address, LiveBlock* erased) {
  // A table never used needs no lock. Not the count: read unlocked during another
  // thread's flush, its parts may add up to none while the block moves between them.
  if (!used_.load(std::memory_order_relaxed)) return false;
  TableLock lock(lock_);
  for (uint32_t i = 0; i < recentCount_; ++i) {
    if (recent_[i].address == address) {
      *erased = recent_[i];
      recent_[i] = recent_[--recentCount_];
      return true;
    }
  }
  return eraseFromTables(address, erased);
}

bool BlockTable::eraseFromTables(uint64_t address, LiveBlock* erased) {
  PackedBlock packed;
  WideBlock wide;
  if (packed_.erase(address, &packed)) {
    if (!packed.sizeKeptBeside()) {
      *erased = packed.unpacked();
      return true;
    }
    --keptBeside_;
  } else if (PackedBlock::addressFits(address)) {
    return false;
  }
  if (!wide_.erase(address, &wide)) return false;
  *erased = wide.block;
  return true;
}

void BlockTable::clear() {
  packed_.clear();
  wide_.clear();
  keptBeside_ = 0;
  recentCount_ = 0;
  used_.store(false, std::memory_order_relaxed);
  lock_.store(0, std::memory_order_relaxed);
}

}  // namespace tidemark::preload
