// The tracer's walks of the loaded objects and fork exclude each other. glibc does not
// reset dl_iterate_phdr's lock in a forked child (only the loader's own): a child forked
// while a tracer thread walked the objects (the writer before every snapshot, a hook's
// unwinding through libunwind) waited for that lock forever in its first walk, starting
// its trace (test_fork_churn, guarded snapshots every 20 ms, six runs at a time: 3
// children hung in 27 runs).
#pragma once

#include <link.h>

namespace tidemark::preload {

// Marks the calling thread as walking the loaded objects for its lifetime: around
// dl_iterate_phdr, and around libunwind's lookups, which call it. Walks run side by
// side; one waits while a fork is under way.
class LoaderWalk {
 public:
  LoaderWalk();
  ~LoaderWalk();
  LoaderWalk(const LoaderWalk&) = delete;
  LoaderWalk& operator=(const LoaderWalk&) = delete;
};

// dl_iterate_phdr as a LoaderWalk.
int walkLoadedObjects(int (*visit)(dl_phdr_info*, size_t, void*), void* data);

// pthread_atfork: before a fork, wait for the walks under way and hold new ones off;
// after it, let them go. In the child, whose only thread walked nothing, the count
// starts again from zero (another thread's count may have been half way up).
void holdLoaderWalks();
void releaseLoaderWalks();
void resetLoaderWalksInChild();

}  // namespace tidemark::preload
