// The scanning child of a snapshot: runs in a copy-on-write image of the program taken
// while every thread was stopped, finds the pointers from the roots to live blocks and
// between live blocks, and writes them as snapshot records into a pipe. Single-threaded,
// signals blocked, no malloc, no stdio, no locks; memory from mmap; ends by exit_group.
#pragma once

namespace tidemark::preload {

// The function for clone(); `job` is the SnapshotJob.
int heapScanMain(void* job);

}  // namespace tidemark::preload
