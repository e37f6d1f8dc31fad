// Heap comparison between two times (see comparison.h).
#include "comparison.h"

#include <algorithm>

#include "site_history.h"

namespace tidemark::analysis {

Comparison compareTimes(const Analysis& a, double fromS, double toS) {
  if (fromS > toS) std::swap(fromS, toS);
  Comparison out;
  size_t from = checkpointAt(a, fromS), to = checkpointAt(a, toS);
  if (a.checkpointTimesS.empty()) return out;
  out.fromS = a.checkpointTimesS[from];
  out.toS = a.checkpointTimesS[to];
  for (const Site& site : a.sites) {
    SitePoint before = siteAt(site, from), after = siteAt(site, to);
    SiteChange change;
    change.site = &site;
    change.bytesBefore = before.liveBytes;
    change.bytesAfter = after.liveBytes;
    change.addedBytes = after.allocatedBytes - before.allocatedBytes;
    change.addedBlocks = after.allocations - before.allocations;
    change.netBlocks = static_cast<int64_t>(after.liveBlocks - before.liveBlocks);
    // Live = allocated - freed at both ends, so freed in between = added - net.
    change.removedBytes = change.addedBytes - change.netBytes();
    change.removedBlocks = change.addedBlocks - change.netBlocks;
    if (change.addedBlocks == 0 && change.removedBlocks == 0) continue;
    out.addedBytes += change.addedBytes;
    out.removedBytes += change.removedBytes;
    out.netBytes += change.netBytes();
    out.sites.push_back(change);
  }
  std::stable_sort(
      out.sites.begin(), out.sites.end(),
      [](const SiteChange& l, const SiteChange& r) { return l.netBytes() > r.netBytes(); });
  return out;
}

}  // namespace tidemark::analysis
