// Mappings the program marked MADV_DONTFORK (V8 does so for every page of its heap):
// the copy-on-write child would not have them, so nothing they point at would count as
// reachable. The writer lists them before a snapshot; the helper brings the listing up to
// date with the changes the hooks noted since (mapping_changes.h), lifts the mark around
// the clone, while every thread is stopped, and puts it back.
#pragma once

#include "snapshot_job.h"

namespace tidemark::preload {

// From /proc/self/smaps (VmFlags "dc"): job.dontFork, job.mappings (every mapping) and
// job.changesFrom (the first change the listing may not show).
void listDontForkMappings(SnapshotJob& job);

// Applies the changes noted since the listing to job.dontFork and makes the result the
// listing of this moment (job.mappings, job.changesFrom). False when it cannot be
// trusted and the caller must list again: the log was overrun, a noted change failed, a
// DONTFORK range was moved, or /proc/self/maps shows a mapping over a DONTFORK range that
// neither the listing nor the hooks saw made (one made by a raw system call, or by libc
// inside, such as malloc's own). What no check sees: a DONTFORK mapping unmapped and a
// new one made exactly in its place, both out of the hooks' sight, between two listings
// (the writer lists again at least every 10 s).
bool catchUpDontForkMappings(SnapshotJob& job);

// madvise(MADV_DOFORK) over job.dontFork and job.releasedSince, or (MADV_DONTFORK) over
// job.dontFork alone, with raw system calls (the helper may call nothing else).
void setForkable(const SnapshotJob& job, bool forkable);

}  // namespace tidemark::preload
