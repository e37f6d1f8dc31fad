// Growth rates of lost bytes (see leak_growth.h).
#include "leak_growth.h"

namespace tidemark::analysis {

Growth growthOver(int64_t change, double seconds) {
  Growth g;
  g.change = change;
  double perSecond = static_cast<double>(change) / seconds;
  if (seconds < 120) {
    g.bytesPerUnit = perSecond;
    g.unit = "second";
  } else if (seconds < 2 * 3600) {
    g.bytesPerUnit = perSecond * 60;
    g.unit = "minute";
  } else {
    g.bytesPerUnit = perSecond * 3600;
    g.unit = "hour";
  }
  return g;
}

std::optional<Growth> growthSinceFirstSeen(const LeakGroup& group, double nowS) {
  if (!(nowS > group.firstGroupS)) return std::nullopt;
  int64_t change = static_cast<int64_t>(group.bytes) - static_cast<int64_t>(group.firstGroupBytes);
  return growthOver(change, nowS - group.firstGroupS);
}

}  // namespace tidemark::analysis
