// How fast lost bytes grow, in the unit a reader of an endurance run wants: per second
// over a short span, per minute or per hour over longer ones.
#pragma once

#include <cstdint>
#include <optional>

#include "analysis.h"

namespace tidemark::analysis {

struct Growth {
  int64_t change = 0;       // bytes, from the start of the span to its end
  double bytesPerUnit = 0;  // the same as a rate
  const char* unit = "";    // "second", "minute" or "hour"
};

// A change of `change` bytes over `seconds` (> 0).
Growth growthOver(int64_t change, double seconds);

// A leak group's growth from the first complete snapshot that had it to `nowS`; nullopt
// when `nowS` is that snapshot's time.
std::optional<Growth> growthSinceFirstSeen(const LeakGroup& group, double nowS);

}  // namespace tidemark::analysis
