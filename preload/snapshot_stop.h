// The helper task of a snapshot: stops every thread of the program with ptrace (never in
// a tracer hook), reads their registers, undoes the EINTR a stop causes, makes the
// copy-on-write child that scans, and resumes the threads. Runs on its own stack in the
// program's address space, with every signal blocked, calling no allocator and no lock.
#pragma once

namespace tidemark::preload {

// The function for clone(); `job` is a SnapshotJob.
int snapshotHelperMain(void* job);

}  // namespace tidemark::preload
