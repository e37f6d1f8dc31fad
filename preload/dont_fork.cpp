// DONTFORK mappings around the snapshot's clone (see dont_fork.h).
#include "dont_fork.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "heap_guard.h"
#include "mapping_changes.h"
#include "proc_maps.h"
#include "range_set.h"

namespace tidemark::preload {

void listDontForkMappings(SnapshotJob& job) {
  job.changesFrom = mappingChangesNoted();
  job.dontForkChangesFrom = dontForkChangesNoted();
  job.dontForkCount = 0;
  job.releasedSinceCount = 0;
  job.mappingCount = 0;
  MappingLine mapping{};
  forEachProcLine("/proc/thread-self/smaps", [&](const char* line) {
    if (strncmp(line, "VmFlags:", 8) == 0) {
      // Two-letter flags separated by spaces; "dc": do not copy on fork.
      if (strstr(line + 8, " dc") && job.dontForkCount < SnapshotJob::kMaxDontFork) {
        job.dontFork[job.dontForkCount++] = {mapping.begin, mapping.end};
      }
      return;
    }
    if (!parseMappingLine(line, &mapping)) return;
    if (job.mappingCount < SnapshotJob::kMaxMappings)
      job.mappings[job.mappingCount++] = {mapping.begin, mapping.end};
  });
}

namespace {

// The catching up proper: job.dontFork, job.mappedSince, job.releasedSince and
// job.notedEdges from the changes noted in [job.changesFrom, last).
bool applyNotedChanges(SnapshotJob& job, uint64_t last) {
  RangeSet dontFork(job.dontFork, SnapshotJob::kMaxDontFork, &job.dontForkCount);
  RangeSet mappedSince(job.mappedSince, SnapshotJob::kMaxDontFork, &job.mappedSinceCount);
  RangeSet releasedSince(job.releasedSince, SnapshotJob::kMaxDontFork, &job.releasedSinceCount);
  for (uint64_t i = job.changesFrom; i < last; ++i) {
    MappingChangeRecord c;
    if (!mappingChange(i, &c)) return false;  // overrun: more than the edges can hold too
    job.notedEdges[job.notedEdgeCount++] = c.begin;
    job.notedEdges[job.notedEdgeCount++] = c.end;
    bool kept = true;
    switch (c.change) {
      case MappingChange::DontFork:
        kept = dontFork.add(c.begin, c.end);
        break;
      case MappingChange::DoFork:
      case MappingChange::Unmapped:
        kept = dontFork.remove(c.begin, c.end) && releasedSince.add(c.begin, c.end);
        break;
      case MappingChange::Mapped:
        kept = dontFork.remove(c.begin, c.end) && mappedSince.add(c.begin, c.end);
        break;
      case MappingChange::Moved:
        kept = !dontFork.overlaps(c.begin, c.end);
        break;
      case MappingChange::Failed:
        kept = false;
        break;
    }
    if (!kept) return false;
  }
  std::sort(job.notedEdges, job.notedEdges + job.notedEdgeCount);
  return true;
}

}  // namespace

bool catchUpDontForkMappings(SnapshotJob& job) {
  job.mappedSinceCount = 0;
  job.releasedSinceCount = 0;
  job.notedEdgeCount = 0;
  uint64_t last = mappingChangesNoted();
  uint64_t dontForkLast = dontForkChangesNoted();
  // A program with no DONTFORK memory that marked none since (most programs) has none
  // now, whatever else it mapped: no need to read the notes, even an overrun log.
  bool noneMarked = job.dontForkCount == 0 && dontForkLast == job.dontForkChangesFrom;
  if (!noneMarked && !applyNotedChanges(job, last)) return false;
  RangeSet dontFork(job.dontFork, SnapshotJob::kMaxDontFork, &job.dontForkCount);
  RangeSet mappedSince(job.mappedSince, SnapshotJob::kMaxDontFork, &job.mappedSinceCount);
  // Every mapping that overlaps a DONTFORK range must be made of mappings the listing
  // showed or the hooks saw made (a DONTFORK page mapped next to another merges with it),
  // and begin and end where one of them, or a noted change, did: a mapping made out of
  // the hooks' sight inside a listed one does not (nor does one that mprotect split).
  const uint64_t* edges = job.notedEdges;
  const uint64_t* edgesEnd = edges + job.notedEdgeCount;
  const SnapshotJob::Range* mappings = job.mappings;
  const SnapshotJob::Range* mappingsEnd = mappings + job.mappingCount;
  auto explained = [&](uint64_t edge) {
    const auto* it =
        std::lower_bound(mappings, mappingsEnd, edge,
                         [](const SnapshotJob::Range& r, uint64_t e) { return r.begin < e; });
    if ((it < mappingsEnd && it->begin == edge) || (it > mappings && (it - 1)->end == edge)) {
      return true;
    }
    return std::binary_search(edges, edgesEnd, edge);
  };
  uint32_t listedCount = job.mappingCount;
  RangeSet listed(job.mappings, SnapshotJob::kMaxMappings, &listedCount);
  bool trusted = true;
  job.mappingNowCount = 0;
  forEachProcLine("/proc/thread-self/maps", [&](const char* line) {
    MappingLine mapping;
    if (!trusted || !parseMappingLine(line, &mapping)) return;
    uint64_t begin = mapping.begin, end = mapping.end;
    if (job.mappingNowCount < SnapshotJob::kMaxMappings) {
      job.mappingsNow[job.mappingNowCount++] = {begin, end};
    }
    if (!dontFork.overlaps(begin, end)) return;
    trusted =
        explained(begin) && explained(end) && coveredByEither(listed, mappedSince, begin, end);
  });
  if (!trusted) return false;
  // Now the listing of this stop, for the next snapshot to catch up from.
  memcpy(job.mappings, job.mappingsNow, job.mappingNowCount * sizeof *job.mappings);
  job.mappingCount = job.mappingNowCount;
  job.changesFrom = last;
  job.dontForkChangesFrom = dontForkLast;
  return true;
}

void setForkable(const SnapshotJob& job, bool forkable) {
  for (uint32_t i = 0; i < job.dontForkCount; ++i) {
    const auto& r = job.dontFork[i];
    adviseOutsideGuard(job.guard, r.begin, r.end, forkable ? MADV_DOFORK : MADV_DONTFORK);
  }
  if (!forkable) return;
  for (uint32_t i = 0; i < job.releasedSinceCount; ++i) {  // never marked again after
    const auto& r = job.releasedSince[i];
    syscall(SYS_madvise, r.begin, r.end - r.begin, MADV_DOFORK);
  }
}

}  // namespace tidemark::preload
