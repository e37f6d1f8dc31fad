// Frame-rule learning through libunwind on a fabricated context (see frame_rules.h).
#include "frame_rules.h"

#include <cstring>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "loader_walks.h"
#include "raw_memory.h"

namespace tidemark::preload {
namespace {

constexpr uintptr_t kMarker = 0x7e57'0000'0000'0000ull;
constexpr size_t kWords = kRuleScratchBytes / sizeof(uintptr_t);
constexpr size_t kRspSlot = 1024;  // room below for rbp-relative saves

// x86-64 rt_sigreturn trampoline: mov $15,%rax; syscall. A return into it is a signal
// frame, which only libunwind handles.
bool isSigreturn(uintptr_t ip) {
  static const unsigned char code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
  return memcmp(reinterpret_cast<const void*>(ip), code, sizeof code) == 0;
}

uint64_t pack(FrameRule rule) {
  uint64_t value;
  memcpy(&value, &rule, sizeof value);
  return value;
}

FrameRule unpack(uint64_t value) {
  FrameRule rule;
  memcpy(&rule, &value, sizeof rule);
  return rule;
}

struct Trial {
  int step;  // unw_step's result
  uintptr_t ip, sp, rbp;
};

// One step from a frame at `ip` with rsp and rbp (and every other register) pointing at
// marker words in `scratch`.
Trial stepFabricated(uintptr_t ip, uintptr_t* scratch, size_t rbpSlot) {
  for (size_t i = 0; i < kWords; ++i) scratch[i] = kMarker + i * sizeof(uintptr_t);
  unw_context_t context;
  memset(&context, 0, sizeof context);
  greg_t* regs = context.uc_mcontext.gregs;
  for (int r = 0; r < NGREG; ++r) {
    regs[r] = static_cast<greg_t>(reinterpret_cast<uintptr_t>(&scratch[2048 + 64 * r]));
  }
  // The call instruction itself: a return address may be the first byte of the next
  // function (after a call that does not return), so step from the byte before it.
  regs[REG_RIP] = static_cast<greg_t>(ip - 1);
  regs[REG_RSP] = static_cast<greg_t>(reinterpret_cast<uintptr_t>(&scratch[kRspSlot]));
  regs[REG_RBP] = static_cast<greg_t>(reinterpret_cast<uintptr_t>(&scratch[rbpSlot]));
  unw_cursor_t cursor;
  Trial t{-1, 0, 0, 0};
  LoaderWalk walk;  // libunwind looks up unwind tables with dl_iterate_phdr
  if (unw_init_local(&cursor, &context) < 0) return t;
  unw_proc_info_t info;
  if (unw_get_proc_info(&cursor, &info) < 0 || unw_is_signal_frame(&cursor) > 0) return t;
  t.step = unw_step(&cursor);
  unw_word_t value;
  unw_get_reg(&cursor, UNW_REG_IP, &value);
  t.ip = value;
  unw_get_reg(&cursor, UNW_REG_SP, &value);
  t.sp = value;
  unw_get_reg(&cursor, UNW_X86_64_RBP, &value);
  t.rbp = value;
  return t;
}

// The scratch word a marker value came from, or nullptr when it is no marker.
const uintptr_t* markerSource(uintptr_t value, const uintptr_t* scratch) {
  if (value < kMarker || value >= kMarker + kRuleScratchBytes || value % sizeof(uintptr_t)) {
    return nullptr;
  }
  return scratch + (value - kMarker) / sizeof(uintptr_t);
}

}  // namespace

FrameRule learnRule(uintptr_t ip, uintptr_t* scratch) {
  FrameRule other{0, 0, FrameRule::Other, 0};
  if (isSigreturn(ip)) return other;
  const size_t rbpSlots[2] = {3072, 4096};
  Trial trials[2];
  for (int i = 0; i < 2; ++i) trials[i] = stepFabricated(ip, scratch, rbpSlots[i]);
  if (trials[0].step == 0 && trials[1].step == 0) return FrameRule{0, 0, FrameRule::End, 0};
  if (trials[0].step <= 0 || trials[1].step <= 0) return other;

  auto address = [&](size_t slot) { return reinterpret_cast<uintptr_t>(&scratch[slot]); };
  FrameRule rule{0, 0, FrameRule::Other, 0};
  if (trials[0].sp == trials[1].sp) {
    rule.kind = FrameRule::CfaRsp;
    rule.cfaOffset = static_cast<int32_t>(trials[0].sp - address(kRspSlot));
  } else if (trials[0].sp - address(rbpSlots[0]) == trials[1].sp - address(rbpSlots[1])) {
    rule.kind = FrameRule::CfaRbp;
    rule.cfaOffset = static_cast<int32_t>(trials[0].sp - address(rbpSlots[0]));
  } else {
    return other;
  }
  for (int i = 0; i < 2; ++i) {
    // The return address must have come from CFA - 8.
    const uintptr_t* from = markerSource(trials[i].ip, scratch);
    if (!from || reinterpret_cast<uintptr_t>(from) != trials[i].sp - 8) return other;
  }
  bool rbpKept = trials[0].rbp == address(rbpSlots[0]) && trials[1].rbp == address(rbpSlots[1]);
  if (!rbpKept) {
    const uintptr_t* from0 = markerSource(trials[0].rbp, scratch);
    const uintptr_t* from1 = markerSource(trials[1].rbp, scratch);
    if (!from0 || !from1) return other;
    intptr_t offset0 = reinterpret_cast<intptr_t>(from0) - static_cast<intptr_t>(trials[0].sp);
    intptr_t offset1 = reinterpret_cast<intptr_t>(from1) - static_cast<intptr_t>(trials[1].sp);
    if (offset0 != offset1 || offset0 < INT16_MIN || offset0 > INT16_MAX) return other;
    rule.rbpSaved = 1;
    rule.rbpOffset = static_cast<int16_t>(offset0);
  }
  return rule;
}

bool FrameRuleTable::init() {
  slots_ = static_cast<Slot*>(mapPages(kSlots * sizeof(Slot)));
  return slots_ != nullptr;
}

void FrameRuleTable::clear() {
  // In place: other threads may be reading; a cleared slot reads as not learned.
  for (size_t i = 0; slots_ && i < kSlots; ++i) {
    slots_[i].rule.store(0, std::memory_order_relaxed);
    slots_[i].ip.store(0, std::memory_order_release);
  }
}

FrameRule FrameRuleTable::find(uintptr_t ip) const {
  size_t index = (ip * 0x9e3779b97f4a7c15ull) >> 48;  // top 16 bits
  for (size_t probe = 0; probe < 32; ++probe, index = (index + 1) & (kSlots - 1)) {
    if (!writtenSlots_.mayHold(index * sizeof(Slot))) break;
    uint64_t key = slots_[index].ip.load(std::memory_order_acquire);
    if (key == ip) return unpack(slots_[index].rule.load(std::memory_order_acquire));
    if (key == 0) break;
  }
  return FrameRule{0, 0, FrameRule::Unknown, 0};
}

void FrameRuleTable::insert(uintptr_t ip, FrameRule rule) {
  size_t index = (ip * 0x9e3779b97f4a7c15ull) >> 48;
  for (size_t probe = 0; probe < 32; ++probe, index = (index + 1) & (kSlots - 1)) {
    bool written = writtenSlots_.mayHold(index * sizeof(Slot));
    uint64_t key = written ? slots_[index].ip.load(std::memory_order_acquire) : 0;
    if (key == 0 && slots_[index].ip.compare_exchange_strong(key, ip)) {
      key = ip;
      writtenSlots_.note(index * sizeof(Slot));
    }
    if (key == ip) {
      slots_[index].rule.store(pack(rule), std::memory_order_release);
      return;
    }
  }
  // Full around this ip: the walk keeps falling back to libunwind for it.
}

}  // namespace tidemark::preload
