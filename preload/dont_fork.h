// Mappings the program marked MADV_DONTFORK (V8 does so for every page of its heap):
// the copy-on-write child would not have them, so nothing they point at would count as
// reachable. The writer lists them before a snapshot; the helper lifts the mark around
// the clone, while every thread is stopped, and puts it back. A program that mapped
// memory between the listing and the stop (V8 growing its heap) is listed again then.
#pragma once

#include "snapshot_job.h"

namespace tidemark::preload {

// From /proc/self/smaps (VmFlags "dc"): job.dontFork, and job.anonymous (every anonymous
// mapping, to notice new or grown ones).
void listDontForkMappings(SnapshotJob& job);

// True when /proc/self/maps shows an anonymous mapping the last listing did not (a new
// one, or one that grew: a DONTFORK page mapped next to another merges with it).
bool newAnonymousMappings(const SnapshotJob& job);

// madvise(MADV_DOFORK) or (MADV_DONTFORK) over job.dontFork, with raw system calls (the
// helper may call nothing else).
void setForkable(const SnapshotJob& job, bool forkable);

}  // namespace tidemark::preload
