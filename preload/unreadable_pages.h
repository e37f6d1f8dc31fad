// The scanning child's way past memory of the program's it cannot read. A page of a file
// mapping beyond the file's end faults with SIGBUS, a guard region (MADV_GUARD_INSTALL)
// with SIGSEGV, and either killed the child: every snapshot of a program that keeps such
// a mapping failed. Here the fault's handler maps a zero page in its place (in this copy
// of the address space only), notes it, and the scan reads zeros there and goes on. The
// program cannot read that page either, so it holds no pointer. A fault anywhere else
// (the tracer's own memory, this child's) is a bug and still kills the child, once it has
// been told to whoever asked (the scan writes it into the trace: where, and in what).
// Single-threaded child only: the notes are plain memory.
#pragma once

#include <cstdint>

namespace tidemark::preload {

struct UnreadableRun {
  uint64_t begin;  // [begin, end): whole pages read as zeros
  uint64_t end;
  int32_t signal;
  int32_t code;       // the fault's si_code
  char mapping[160];  // its line in /proc/self/maps when the first page faulted
};

// Whether a fault at `address` is in the program's memory, to be read as zeros.
using ProgramMemoryFn = bool (*)(const void* context, uint64_t address);

// Told of a fault the child is about to die of, from its handler.
using FatalFaultFn = void (*)(const void* context, const UnreadableRun& fault);

// From now on (in this child), faults in the program's memory are noted and read as zeros;
// any other is passed to `fatal` and kills the child.
void readUnreadableAsZeros(ProgramMemoryFn isProgramMemory, FatalFaultFn fatal,
                           const void* context);

uint32_t unreadableRunCount();
const UnreadableRun& unreadableRun(uint32_t i);
// More runs than there is room to note: what faulted after that is not listed.
bool unreadableRunsOverflowed();

}  // namespace tidemark::preload
