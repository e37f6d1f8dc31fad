// CLOCK_MONOTONIC in nanoseconds: a vDSO read that takes no lock, so the hooks, the
// writer, the snapshot helper and the scanning child may all call it.
#pragma once

#include <time.h>

#include <cstdint>

namespace tidemark::preload {

inline uint64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + ts.tv_nsec;
}

}  // namespace tidemark::preload
