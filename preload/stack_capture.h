// Captures the call stack of an allocation: return addresses, innermost first, starting
// at the caller of the interposed function (the tracer's own frames are cut off).
#pragma once

#include <cstdint>

namespace tidemark::preload {

inline constexpr uint32_t kMaxFrames = 64;

// Records the address range of the tracer's own code. Call once at init.
void initStackCapture();

// Fills `ips` and returns the depth. Never allocates.
uint32_t captureStack(uintptr_t* ips);

}  // namespace tidemark::preload
