// Mappings the program marked MADV_DONTFORK (V8 does so for every page of its heap):
// the copy-on-write child would not have them, so nothing they point at would count as
// reachable. The writer lists them before a snapshot; the helper lifts the mark around
// the clone, while every thread is stopped, and puts it back.
#pragma once

#include <cstdint>

#include "snapshot_job.h"

namespace tidemark::preload {

// From /proc/self/smaps (VmFlags "dc"): up to `capacity` ranges; returns how many.
uint32_t collectDontForkRanges(SnapshotJob::Range* out, uint32_t capacity);

// madvise(MADV_DOFORK) or (MADV_DONTFORK) over the ranges, with raw system calls (the
// helper may call nothing else).
void setForkable(const SnapshotJob::Range* ranges, uint32_t count, bool forkable);

}  // namespace tidemark::preload
