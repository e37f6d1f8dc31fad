// The heap guard (`tidemark record --guard-heap`): a snapshot whose pause does not grow
// with the heap. The copy-on-write child costs the kernel a page-table copy of every
// mapping while all threads wait, about 20 ms per GB of 4 KiB pages, and a few
// microseconds per mapping. With the guard, the program's anonymous mappings of 256 KiB
// or more (glibc's heaps, big blocks, an interpreter's arenas, V8's pages) stay out of it:
//   1. the writer registers them with a userfaultfd and write-protects them while the
//      program runs; the helper lets each first write through and notes its page;
//   2. at the stop the helper protects again the pages written meanwhile, marks the
//      mappings DONTFORK for the clone (those the program marked so already, V8's, keep
//      their mark: no system call for them), and from then on copies a page into shared
//      memory before it lets the first write to it through;
//   3. the scanning child maps the mappings again at their addresses and fills them, a
//      window at a time as its scan gets there, from the program (process_vm_readv, or
//      /proc/self/mem), taking a page's copy wherever there is one: it sees their content
//      as it was at the stop. When it is done, the helper lets them go.
// A mapping mostly never written (memory reserved up front, written here and there) is
// guarded sparsely: the clone would copy a page table for each 2 MiB it has pages in
// (2-4 us each, 55 ms for 16,384 pages spread over 64 GB), while protecting all of it
// would give it those tables and more (every page gets a marker). Only its pages are
// protected, and it is registered for missing pages too: the helper sees each first touch
// of one it has none of, notes it before the stop (it is protected at the stop) or marks
// it zeros after (its content at the stop), then maps the zero page there. The child
// reads only the pages the program has (its page table, /proc/PID/pagemap), and nothing
// of a range a hook kept from the program (keepForGuardedScan).
// A block freed or memory unmapped, moved or discarded while the child reads is copied
// first (keepForGuardedScan). What it cannot keep: memory that goes without a hooked call
// (a raw system call; glibc's own munmap of a cached thread stack, which is never
// guarded); if live blocks or roots were there, the snapshot says it is incomplete.
// snapshot.cpp decides which snapshots are guarded (by default those of a big heap while
// the program runs).
// Needs the right to make a userfaultfd that sees the kernel's own writes (root,
// CAP_SYS_PTRACE or vm.unprivileged_userfaultfd=1); without it, snapshots copy all.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "populated_pages.h"
#include "range_set.h"

namespace tidemark::preload {

struct SnapshotJob;
struct HeapGuard;

// The writer, before the helper starts: chooses the mappings (anonymous, private, writable,
// at least 256 KiB, none of the tracer's, no thread's stack or ended thread's cached one)
// and registers them. `automatic` (the default, not --guard-heap): only when what the
// clone would copy of them (resident pages, and the page tables of sparse ones) comes to
// 64 MiB of pages or more, and a sparse mapping only when the clone would copy much of
// it. nullptr when there is nothing to guard or no userfaultfd to be had.
HeapGuard* armHeapGuard(const SnapshotJob& job, bool automatic);
// The writer, while the helper serves: write-protects every guarded mapping.
void protectGuardedMappings(HeapGuard& guard);
// The writer, when the helper and the child are done.
void disarmHeapGuard(HeapGuard* guard);

// Any thread, when guardedScanRunning(), in the free and realloc hooks before the allocator
// gets a block back and in the munmap, mremap, mmap (MAP_FIXED) and madvise (discarding)
// hooks before the call: copies the guarded pages of [begin, end) that have no copy yet,
// so that memory given back to the kernel (a big block's own mapping, the trimmed top of a
// heap, an arena of the program's) loses nothing the child has still to read. No lock, no
// allocation; one system call per page it copies (a read that fails instead of faulting;
// memory the program made unreadable is read through /proc/self/mem).
extern std::atomic<HeapGuard*> guardedScan;
inline bool guardedScanRunning() { return guardedScan.load(std::memory_order_relaxed) != nullptr; }
void keepForGuardedScan(uint64_t begin, uint64_t end);
// ... and in the same hooks after the call: lets through the writes the helper could not.
// The kernel refuses to lift a write protection while a thread's unmap, discard or move
// of guarded memory waits for its event and until that thread has gone on: a thread
// discarding page after page (V8 does) leaves the helper almost no moment to do it, and
// a write waited for the rest of the scan; this thread's own call is over here. Costs
// the counted use keepForGuardedScan pays and a load when no write waits, else an ioctl
// (and maybe a page copy) per waiting write.
void letWaitingWritesThrough();
// In a forked child: the guard belongs to the parent's snapshot.
void forgetGuardedScanAfterFork();

// The helper: answers the faults and events that arrive within `ns` (0: those waiting).
void serveHeapGuard(HeapGuard& guard, uint64_t ns);
// The helper, every thread stopped, job.dontFork brought up to date: protects again what
// was written since protection, notes which mappings the program marked DONTFORK, and
// starts copying before writes. Then guarded mappings are left out of the clone with
// setGuardedForkable(false), and put back after it.
void startCopyingBeforeWrites(HeapGuard& guard, const SnapshotJob& job);
void setGuardedForkable(const HeapGuard& guard, bool forkable);
// The helper, the program running again: serves until the child's scan is over (or the
// child ended, or `deadlineNs` passed: the child then finds the snapshot incomplete),
// then lets go.
void serveUntilScanDone(HeapGuard& guard, pid_t child, uint64_t deadlineNs);

inline constexpr uint32_t kMaxGuardedMappings = 16384;
struct GuardedMapping {
  AddressRange range;
  bool mainHeap;        // "[heap]" in /proc/self/maps, which the child's own maps no longer says
  bool active;          // left out of the clone (false: dropped before the stop, in the copy)
  bool dontFork;        // the program marked it MADV_DONTFORK (known at the stop): out of the
                        // clone anyway
  bool belowGuardPage;  // right above one inaccessible page: shaped like a thread's stack
  bool sparse;          // mostly never written: guarded sparsely (above)
  uint64_t firstPage;   // its pages' index in the guard's page table
};
uint32_t guardedMappingCount(const HeapGuard& guard);
// madvise(advice) over [begin, end) but for the active guarded mappings in it that the
// program marked DONTFORK: the clone must not have those, so setForkable leaves their mark
// alone. A range of the program's DONTFORK memory may hold such mappings and pages mapped
// since the guard was armed (touching ranges are one in the notes), and only the latter
// are the clone's to copy: V8 maps pages next to guarded ones while a snapshot is armed
// (in one node snapshot, 39 of the 48 ranges lifted began in a guarded mapping).
void adviseOutsideGuard(const HeapGuard* guard, uint64_t begin, uint64_t end, int advice);
const GuardedMapping& guardedMapping(const HeapGuard& guard, uint32_t i);
// The index of the guarded mapping that contains `address`, or -1 (they are sorted).
int64_t guardedMappingAt(const HeapGuard& guard, uint64_t address);

// The scanning child (guarded_memory.h drives these). `lost(context, begin, end)` hears of
// guarded memory whose content at the stop could not be had.
using LostMemoryFn = void (*)(void* context, uint64_t begin, uint64_t end);
// Maps an active guarded mapping again, empty, at its address; false when it cannot.
bool mapGuardedMapping(const GuardedMapping& m);
// Fills [begin, end) (whole pages of `m`, at most kMaxReadBytes) with its content at the
// stop, read from the program and the helper's copies. Of a sparse mapping only pages
// the program has (or had, for those with a copy) are read: the others are left alone,
// and with `stale` (the child's pages there hold something else) emptied, so that they
// read as zeros and this child's own page table says they were never written.
// `programPages` reads the program's page table (programPageRuns), keeping what it read:
// one read serves many windows.
inline constexpr uint64_t kMaxReadBytes = uint64_t{2} << 20;
void readAtStop(HeapGuard& guard, const GuardedMapping& m, uint64_t begin, uint64_t end, bool stale,
                WrittenRuns& programPages, LostMemoryFn lost, void* context);
// The first page at or after `from` (in `m`, below `end`) whose content at the stop may be
// anything but zeros: one the program has, or one with a copy; `end` when there is none.
// `from` itself when `m` is not sparse. `programPages` reads the program's page table
// (programPageRuns), and keeps what it read for the next call.
uint64_t firstPageWithContent(const HeapGuard& guard, const GuardedMapping& m, uint64_t from,
                              uint64_t end, WrittenRuns& programPages);
WrittenRuns programPageRuns(const HeapGuard& guard, uint64_t* entries, uint64_t capacity);
// The same for `bytes` at `address` (within one page of `m`), into `out`; false when gone.
bool peekAtStop(const HeapGuard& guard, const GuardedMapping& m, uint64_t address, void* out,
                size_t bytes);
// Done reading: lets the helper let go, then tells what the program unmapped, discarded or
// moved meanwhile (and everything, when the helper gave up or was killed).
void finishReading(HeapGuard& guard, LostMemoryFn lost, void* context);

// How much of the guarded memory the child has read: progress before it writes anything.
uint64_t heapGuardBytesRead(const HeapGuard& guard);
// Its userfaultfd (a forked child closes its copy).
void closeHeapGuardFiles(const HeapGuard& guard);
// The guard's own shared memory (its copies of heap pages): never a root.
AddressRange heapGuardMemory(const HeapGuard& guard);

}  // namespace tidemark::preload
