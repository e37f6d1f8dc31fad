// Changes the program made to its mappings, noted by the hooks so that a snapshot's stop
// can bring the writer's listing of DONTFORK mappings (dont_fork.h) up to date instead of
// reading /proc/self/smaps again while every thread waits: for node's heap that re-read
// was 17.6 ms of a 37.9 ms pause, and V8 maps a DONTFORK page about every 3 ms while its
// heap grows. Lock-free, fixed size; a snapshot that finds the log overrun lists again.
#pragma once

#include <cstdint>

namespace tidemark::preload {

enum class MappingChange : uint32_t {
  DontFork,  // madvise(MADV_DONTFORK)
  DoFork,    // madvise(MADV_DOFORK)
  Unmapped,  // munmap, or what a MAP_FIXED mapping replaces
  Mapped,    // a new mapping (never DONTFORK at birth)
  Moved,     // the old range of an mremap
  Failed,    // the system call of the change noted before it failed
};

// Between two snapshots node notes a few hundred; more than this and the stop lists again.
constexpr uint64_t kMappingChangeSlots = 8192;

struct MappingChangeRecord {
  MappingChange change;
  uint64_t begin;
  uint64_t end;  // whole pages
};

// Notes a change to [address, address + length) in whole pages, as the kernel applies it;
// nothing for an address off a page boundary, which the kernel refuses (Failed: the
// length does not matter). Hooks note madvise, munmap and mremap before the system call
// and a new mapping after it. A thread stopped in between leaves at worst a range marked
// DONTFORK that the program was about to mark so, or a DONTFORK range left out of one
// snapshot; never a range marked DONTFORK after the snapshot that the program had made
// forkable.
void noteMappingChange(MappingChange change, uint64_t address, uint64_t length);

// How many changes were noted so far: the index the next one gets.
uint64_t mappingChangesNoted();

// How many of them were MappingChange::DontFork (counted apart: the log may overrun).
uint64_t dontForkChangesNoted();

// The change numbered `index`; false when the log no longer holds it (overrun) or it was
// being written when its thread stopped.
bool mappingChange(uint64_t index, MappingChangeRecord* out);

}  // namespace tidemark::preload
