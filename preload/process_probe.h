// Reads of the tracer's own process state through /proc and mincore, with static
// buffers only. Used by the writer thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tidemark::preload {

// Reads a whole /proc file into `buffer`; returns the bytes read (0 on failure).
size_t readProcFile(const char* path, char* buffer, size_t capacity);

// The thread's name (comm), at most 15 characters; empty on failure.
void readThreadName(int32_t tid, char (&name)[16]);

// For each of `count` addresses, the mapping that contains it ([lows[i], highs[i]),
// left as it was when none does), from one read of /proc/thread-self/maps.
void findMappings(const uintptr_t* addresses, uint32_t count, uint64_t* lows, uint64_t* highs);

// Resident bytes of [low, high), from mincore. 0 for an empty range.
uint64_t residentBytes(uint64_t low, uint64_t high);

// The process's resident set size, from /proc/thread-self/statm.
uint64_t residentSetBytes();

// Whether a thread of the process other than `except` still runs: one that has exited
// but is not yet reaped (the main thread after pthread_exit, until the process ends)
// does not.
bool otherThreadRuns(int32_t except);

}  // namespace tidemark::preload
