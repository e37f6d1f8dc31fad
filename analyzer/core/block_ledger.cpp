// Frees matched to their allocations (see block_ledger.h).
#include "block_ledger.h"

#include <algorithm>

namespace tidemark::analysis {
namespace {

using Block = BlockLedger::Block;
using Free = BlockLedger::Free;
using format::FreedBlock;

uint32_t msOf(uint64_t timeUs) { return static_cast<uint32_t>(timeUs / 1000); }

// A free the tracer says ends a block of its own ring: the latest one there (its ring is
// in its order), or one the program had before a fork.
bool ownMatch(const Block& b, const Free& f) {
  return b.ring == f.ring || b.ring == Block::kNoRing;
}

// A free of another ring's block, which it names by size and stack.
bool otherMatch(const Block& b, const Free& f) {
  return b.ring != f.ring && b.stack == f.stack && b.size == std::min(f.size, Block::kMaxSize);
}

// A plain free: of a block of its own ring, or of one allocated no later than itself.
bool plainMatch(const Block& b, const Free& f) {
  return b.ring == f.ring || b.timeMs <= msOf(f.timeUs);
}

// Inlined: called for nearly every free.
[[gnu::always_inline]] inline bool matches(const Block& b, const Free& f) {
  switch (f.freed) {
    case FreedBlock::Own:
      return ownMatch(b, f);
    case FreedBlock::Other:
      return otherMatch(b, f);
    case FreedBlock::Unknown:
      break;
  }
  return plainMatch(b, f);
}

// Which of the blocks at one address (in the order read) a free ends, or -1: the latest
// of its own ring if any, else the first that matches.
int chooseBlock(const std::vector<const Block*>& blocks, const Free& f) {
  if (f.freed != FreedBlock::Other) {
    for (int i = static_cast<int>(blocks.size()) - 1; i >= 0; --i) {
      if (blocks[i]->ring == f.ring) return i;
    }
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (matches(*blocks[i], f)) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

bool BlockLedger::takeEarlyFree(uint64_t address, const Block& block) {
  auto early = early_.find(address);
  if (early == early_.end()) return false;
  auto& frees = early->second;
  // A plain free ends the first block allocated at or before it on another ring.
  auto ends = [&](const EarlyFree& e) {
    if (e.free.ring == block.ring) return false;  // that ring's own free came before it
    if (e.free.freed == FreedBlock::Other) return otherMatch(block, e.free);
    return e.timeMs >= block.timeMs;
  };
  auto it = std::find_if(frees.begin(), frees.end(), ends);
  if (it == frees.end()) return false;
  frees.erase(it);
  if (frees.empty()) early_.erase(early);
  return true;
}

BlockLedger::Allocated BlockLedger::allocate(uint64_t address, const Block& block) {
  if (!early_.empty() && takeEarlyFree(address, block)) return Allocated::FreedAlready;
  if (live_.tryEmplace(address, block).second) return Allocated::Live;
  more_[address].push_back(block);
  return Allocated::BesideAnother;
}

std::optional<Block> BlockLedger::free(uint64_t address, const Free& f) {
  auto more = more_.empty() ? more_.end() : more_.find(address);
  if (more == more_.end()) {  // one block at most here, as nearly always
    if (std::optional<Block> block = live_.take(address)) {
      if (matches(*block, f)) return block;
      live_.tryEmplace(address, *block);
    }
  } else {
    std::vector<const Block*> blocks{live_.find(address)};
    for (const Block& b : more->second) blocks.push_back(&b);
    int chosen = chooseBlock(blocks, f);
    if (chosen >= 0) {
      // The first of the further blocks takes the place of a chosen first one.
      auto from = more->second.begin() + (chosen == 0 ? 0 : chosen - 1);
      Block ended = *blocks[chosen];
      if (chosen == 0) *live_.find(address) = *from;
      more->second.erase(from);
      if (more->second.empty()) more_.erase(more);
      return ended;
    }
  }
  // An own block not here was never read (lost with a full ring); any other free's block
  // may still come.
  if (f.freed != FreedBlock::Own) {
    auto& frees = early_[address];
    EarlyFree e{f, msOf(f.timeUs)};
    auto after = std::upper_bound(frees.begin(), frees.end(), e.timeMs,
                                  [](uint32_t t, const EarlyFree& x) { return t < x.timeMs; });
    frees.insert(after, e);
  }
  return std::nullopt;
}

}  // namespace tidemark::analysis
