// How to step past one frame, learned once per return address from libunwind and then
// applied without it (UNWINDING.md: "per-IP frame rules"). On x86-64 the return address
// sits just below the canonical frame address (CFA); what varies per instruction is
// whether the CFA is rsp- or rbp-based, its offset, and where the caller's rbp was saved.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "written_pages.h"

namespace tidemark::preload {

struct FrameRule {
  enum Kind : uint8_t {
    Unknown = 0,  // not learned yet (the all-zero value of a table slot)
    CfaRsp,       // CFA = rsp + cfaOffset
    CfaRbp,       // CFA = rbp + cfaOffset
    End,          // the outermost frame: libunwind stops here
    Other,        // anything else (signal frame, JIT code, expressions): use libunwind
  };
  int32_t cfaOffset;
  int16_t rbpOffset;  // the caller's rbp is at CFA + rbpOffset, when rbpSaved
  Kind kind;
  uint8_t rbpSaved;
};
static_assert(sizeof(FrameRule) == 8);

// Bytes of scratch memory learnRule() needs; it must be followed by at least 1 MiB of
// readable memory (a frame may be that large).
inline constexpr size_t kRuleScratchBytes = 64 * 1024;

// Learns the rule for return address `ip` by letting libunwind step a fabricated frame
// whose stack holds marker words, then reading which words it used. Never allocates.
FrameRule learnRule(uintptr_t ip, uintptr_t* scratch);

// A process-wide lock-free table ip → rule. A slot another thread is still learning
// reads as Unknown.
class FrameRuleTable {
 public:
  bool init();
  void clear();
  FrameRule find(uintptr_t ip) const;
  void insert(uintptr_t ip, FrameRule rule);

 private:
  struct Slot {
    std::atomic<uint64_t> ip;
    std::atomic<uint64_t> rule;
  };
  static constexpr size_t kSlots = size_t{1} << 16;
  Slot* slots_ = nullptr;
  WrittenPages<kSlots * sizeof(Slot)> writtenSlots_;  // which pages of slots_ hold one
};

}  // namespace tidemark::preload
