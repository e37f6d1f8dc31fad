// Captures the call stack of an allocation: return addresses, innermost first, starting
// at the caller of the interposed function (the tracer's own frames are cut off).
#pragma once

#include <sys/user.h>

#include <cstdint>

namespace tidemark::preload {

inline constexpr uint32_t kMaxFrames = 64;

// Records the address range of the tracer's own code and maps the frame-rule table.
// `verify`: also unwind every stack with libunwind and count the differences.
void initStackCapture(bool verify);

// The program's frame that called into the tracer, found by unwinding the calling thread
// to its first frame outside the tracer: that frame's instruction and stack pointers, and
// the registers a callee keeps for its caller (rbx, rbp, r12-r15) as they were at the
// call. The others do not survive a call; they are left zero. False when the unwind fails.
bool callerOfTracer(user_regs_struct* out);

// Called after dlclose: code at a known address may be replaced.
void forgetFrameRules();

// One thread's memory for capturing: the previous walk, for the exact stack-suffix
// cache of UNWINDING.md, and scratch for learning frame rules. Owner thread only.
struct UnwindState {
  struct Step {
    uintptr_t ip, rsp, rbp;
    uintptr_t readAddress[2];  // the stack words this step read, and what they held
    uintptr_t readValue[2];
    uint32_t reads;
  };
  static constexpr uint32_t kMaxSteps = kMaxFrames + 16;
  // The previous complete walk, outermost frame first: a new walk that joins it at step
  // m reuses steps [0, m] where they are and only writes its own inner steps above.
  Step cached[kMaxSteps];
  uint32_t cachedCount = 0;
  Step fresh[kMaxSteps];  // the steps of the walk under way, innermost first
  // A direct-mapped copy of the shared rule table for the ips this thread meets most.
  struct LocalRule {
    uintptr_t ip;
    uint64_t rule;  // a FrameRule's bytes
  };
  static constexpr uint32_t kLocalRules = 512;
  LocalRule localRules[kLocalRules] = {};
  uint64_t rulesEpoch = 0;  // forgetFrameRules() calls seen; more: drop localRules
  uintptr_t* ruleScratch = nullptr;
};

// Fills `ips` and returns the depth. Never allocates.
uint32_t captureStack(uintptr_t* ips, UnwindState& state);

// With verify on: captures checked against libunwind, and how many differed.
uint64_t verifiedCaptures();
uint64_t mismatchedCaptures();

}  // namespace tidemark::preload
