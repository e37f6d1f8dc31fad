// Stack capture (UNWINDING.md): a walk that applies per-IP frame rules learned once from
// libunwind, falling back to libunwind's unw_backtrace (with its per-thread cache) for
// any frame whose rule is not simple — signal frames, code without unwind info.
// This file is compiled with frame pointers: captureStack's own frame is stepped by them.
#include "stack_capture.h"

#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstring>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "frame_rules.h"
#include "loader_walks.h"

namespace tidemark::preload {
namespace {

uintptr_t ownCodeBegin = 0;
uintptr_t ownCodeEnd = 0;
constinit FrameRuleTable rules;
bool verifying = false;
std::atomic<uint64_t> forgetEpoch{0};
std::atomic<uint64_t> verified{0};
std::atomic<uint64_t> mismatched{0};

int findOwnObject(struct dl_phdr_info* info, size_t, void* data) {
  auto self = reinterpret_cast<uintptr_t>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    uintptr_t end = begin + ph.p_memsz;
    if (self >= begin && self < end) {
      ownCodeBegin = begin;
      ownCodeEnd = end;
      return 1;
    }
  }
  return 0;
}

bool ownCode(uintptr_t ip) { return ip >= ownCodeBegin && ip < ownCodeEnd; }

__attribute__((noinline)) uint32_t captureWithLibunwind(uintptr_t* ips) {
  void* frames[kMaxFrames + 16];
  int depth;
  {
    LoaderWalk walk;  // libunwind looks up unwind tables with dl_iterate_phdr
    depth = unw_backtrace(frames, kMaxFrames + 16);
  }
  uint32_t n = 0;
  for (int i = 0; i < depth && n < kMaxFrames; ++i) {
    auto ip = reinterpret_cast<uintptr_t>(frames[i]);
    if (!ownCode(ip)) ips[n++] = ip;
  }
  return n;
}

// How many cached steps, from the outermost, still read the stack words they read when
// they were cached (stopping at the first that does not, or at `limit`).
uint32_t unchangedSteps(const UnwindState& state, uint32_t limit) {
  for (uint32_t k = 0; k < limit; ++k) {
    const UnwindState::Step& step = state.cached[k];
    for (uint32_t r = 0; r < step.reads; ++r) {
      if (*reinterpret_cast<const uintptr_t*>(step.readAddress[r]) != step.readValue[r]) {
        return k;
      }
    }
  }
  return limit;
}

FrameRule ruleFor(uintptr_t ip, UnwindState& state) {
  auto& local = state.localRules[(ip ^ (ip >> 9)) % UnwindState::kLocalRules];
  FrameRule rule;
  if (local.ip == ip) {
    memcpy(&rule, &local.rule, sizeof rule);
    return rule;
  }
  rule = rules.find(ip);
  if (rule.kind == FrameRule::Unknown) {
    rule = learnRule(ip, state.ruleScratch);
    rules.insert(ip, rule);
  }
  local.ip = ip;
  memcpy(&local.rule, &rule, sizeof rule);
  return rule;
}

// Makes the cache the walk just done: `fresh[0, count)` innermost first, joined to the
// cached steps [0, joined) (outermost first) when `joined` is not 0.
void remember(UnwindState& state, uint32_t count, uint32_t joined) {
  for (uint32_t j = 0; j < count; ++j) state.cached[joined + count - 1 - j] = state.fresh[j];
  state.cachedCount = joined + count;
}

// Returns the depth, or -1 when a frame needs libunwind.
__attribute__((noinline)) int walkWithRules(uintptr_t* ips, UnwindState& state) {
  auto* frame = static_cast<uintptr_t*>(__builtin_frame_address(0));
  uintptr_t ip = frame[1];
  uintptr_t rsp = reinterpret_cast<uintptr_t>(frame + 2);
  uintptr_t rbp = frame[0];
  uint32_t steps = 0;
  uint32_t n = 0;
  // The cached step whose rsp may still equal ours; cached rsps fall as the index grows.
  int match = static_cast<int>(state.cachedCount) - 1;
  // Cached steps [0, unchanged) are known to read what they read before; -1: not checked.
  int unchanged = -1;
  // The tracer's own frames are left out wherever they are: the hook frames at the top,
  // and a hook such as dlopen's in the middle when the real function allocates.
  while (steps < UnwindState::kMaxSteps && n < kMaxFrames) {
    while (match >= 0 && state.cached[match].rsp < rsp) --match;
    // Same frame position and registers as cached step `match`: if the stack words the
    // cached walk read from there outward are unchanged, the rest of the walk is the
    // cached one (exact: each step depends only on those inputs). A changed word at step
    // k still lets the walk join further out, at a step below k.
    if (match >= 0 && state.cached[match].rsp == rsp && state.cached[match].ip == ip &&
        state.cached[match].rbp == rbp) {
      if (unchanged < 0) unchanged = static_cast<int>(unchangedSteps(state, match + 1));
      if (match < unchanged) {
        for (int k = match; k >= 0 && n < kMaxFrames; --k) {
          if (!ownCode(state.cached[k].ip)) ips[n++] = state.cached[k].ip;
        }
        remember(state, steps, static_cast<uint32_t>(match) + 1);
        return static_cast<int>(n);
      }
    }
    UnwindState::Step& step = state.fresh[steps++];
    step.ip = ip;
    step.rsp = rsp;
    step.rbp = rbp;
    step.reads = 0;
    if (!ownCode(ip)) ips[n++] = ip;
    FrameRule rule = ruleFor(ip, state);
    if (rule.kind == FrameRule::End) {
      remember(state, steps, 0);
      return static_cast<int>(n);
    }
    uintptr_t cfa = (rule.kind == FrameRule::CfaRsp ? rsp : rbp) + rule.cfaOffset;
    // Unwinding only ever moves towards the stack's base.
    if ((rule.kind != FrameRule::CfaRsp && rule.kind != FrameRule::CfaRbp) || cfa <= rsp) {
      state.cachedCount = 0;
      return -1;
    }
    step.readAddress[0] = cfa - 8;
    step.readValue[0] = ip = *reinterpret_cast<const uintptr_t*>(cfa - 8);
    step.reads = 1;
    if (rule.rbpSaved) {
      step.readAddress[1] = cfa + rule.rbpOffset;
      step.readValue[1] = rbp = *reinterpret_cast<const uintptr_t*>(cfa + rule.rbpOffset);
      step.reads = 2;
    }
    rsp = cfa;
    if (ip == 0) {
      remember(state, steps, 0);
      return static_cast<int>(n);
    }
  }
  // Stopped by the depth limit: such a walk cannot lend its suffix, since a later,
  // shallower walk would then stop where the limit cut this one.
  state.cachedCount = 0;
  return static_cast<int>(n);
}

}  // namespace

bool callerOfTracer(user_regs_struct* out) {
  LoaderWalk walk;  // libunwind looks up unwind tables with dl_iterate_phdr
  unw_context_t context;
  unw_cursor_t cursor;
  if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) return false;
  unw_word_t ip = 0;
  do {
    if (unw_step(&cursor) <= 0 || unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0) return false;
  } while (ownCode(ip));
  struct {
    int reg;
    unsigned long long* value;
  } kept[] = {{UNW_X86_64_RBX, &out->rbx}, {UNW_X86_64_RBP, &out->rbp}, {UNW_X86_64_R12, &out->r12},
              {UNW_X86_64_R13, &out->r13}, {UNW_X86_64_R14, &out->r14}, {UNW_X86_64_R15, &out->r15},
              {UNW_REG_SP, &out->rsp}};
  *out = {};
  out->rip = ip;
  for (const auto& k : kept) {
    unw_word_t value;
    if (unw_get_reg(&cursor, k.reg, &value) != 0) return false;
    *k.value = value;
  }
  return true;
}

void initStackCapture(bool verify) {
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
  walkLoadedObjects(findOwnObject, reinterpret_cast<void*>(&initStackCapture));
  rules.init();
  verifying = verify;
}

void forgetFrameRules() {
  rules.clear();
  forgetEpoch.fetch_add(1, std::memory_order_release);
}

uint32_t captureStack(uintptr_t* ips, UnwindState& state) {
  uint64_t epoch = forgetEpoch.load(std::memory_order_acquire);
  if (state.rulesEpoch != epoch) {  // an object was closed: its rules may be wrong now
    memset(state.localRules, 0, sizeof state.localRules);
    state.cachedCount = 0;
    state.rulesEpoch = epoch;
  }
  int depth = walkWithRules(ips, state);
  if (depth < 0) return captureWithLibunwind(ips);
  if (verifying) {
    uintptr_t reference[kMaxFrames];
    uint32_t expected = captureWithLibunwind(reference);
    verified.fetch_add(1, std::memory_order_relaxed);
    if (expected != static_cast<uint32_t>(depth) ||
        memcmp(reference, ips, expected * sizeof(uintptr_t)) != 0) {
      mismatched.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return static_cast<uint32_t>(depth);
}

uint64_t verifiedCaptures() { return verified.load(std::memory_order_relaxed); }
uint64_t mismatchedCaptures() { return mismatched.load(std::memory_order_relaxed); }

}  // namespace tidemark::preload
