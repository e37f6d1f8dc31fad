// The heap guard (see heap_guard.h). Raw system calls only: the helper and the child may
// call nothing that locks or allocates. The guard's state lives in one shared anonymous
// mapping, so the writer, the helper (which shares the program's memory) and the child
// (which gets a copy of everything else) all see the same page table and copies.
#include "heap_guard.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "monotonic_clock.h"
#include "proc_maps.h"
#include "raw_memory.h"
#include "ring.h"
#include "snapshot_job.h"

namespace tidemark::preload {

namespace {

constexpr uint64_t kMinimumBytes = uint64_t{256} << 10;
// By default a mapping less than 1 / this resident is left to the clone (armHeapGuard).
constexpr uint64_t kMostlyWrittenShare = 4;
// Linux 6.4 (Debian 12's headers predate it): unpopulated pages are protected too, so a
// first write to one is seen like any other.
constexpr uint64_t kFeatureWriteProtectUnpopulated = 1 << 13;
constexpr uint64_t kFeatures = kFeatureWriteProtectUnpopulated | UFFD_FEATURE_EVENT_REMOVE |
                               UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMAP;

void futexWake(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

}  // namespace

std::atomic<HeapGuard*> guardedScan{nullptr};

namespace {

std::atomic<uint32_t> guardedScanUsers{0};

// The free hooks may use the guard from now on (until stopKeeping).
void startKeeping(HeapGuard& guard) { guardedScan.store(&guard, std::memory_order_seq_cst); }

// ... and no longer: once this returns, no hook uses it any more.
void stopKeeping() {
  if (!guardedScan.load(std::memory_order_relaxed)) return;
  guardedScan.store(nullptr, std::memory_order_seq_cst);
  while (guardedScanUsers.load(std::memory_order_seq_cst) != 0) syscall(SYS_sched_yield);
}

}  // namespace

struct HeapGuard {
  static constexpr uint32_t kMaxMappings = kMaxGuardedMappings;
  static constexpr uint32_t kMaxWritten = 1 << 16;
  static constexpr uint32_t kMaxLost = 1024;

  size_t bytes;  // of this shared mapping
  int uffd;
  int memFd;  // the program's /proc/self/mem: reads what the program made unreadable
  uint32_t mappingCount;
  GuardedMapping mappings[kMaxMappings];  // sorted by address
  // Before the stop: pages written since protection, and ranges discarded (madvise), which
  // lose their protection; both are protected again at the stop.
  uint32_t writtenCount;
  bool writtenOverflow;
  uint64_t written[kMaxWritten];
  static constexpr uint32_t kMaxDiscarded = 4096;
  uint32_t discardedCount;
  AddressRange discarded[kMaxDiscarded];
  // After the stop.
  std::atomic<uint32_t> copying;
  std::atomic<uint32_t>* copyOfPage;  // per guarded page: 1 + its copy's index, 0 none
  unsigned char* copies;
  uint32_t copyCapacity;
  std::atomic<uint32_t> copiesUsed;  // the helper's and the free hooks' (keepForGuardedScan)
  std::atomic<uint32_t> lostCount;
  bool lostOverflow;
  AddressRange lost[kMaxLost];
  // Guarded memory mremap moved elsewhere: still registered there, let go at the end too.
  static constexpr uint32_t kMaxMoved = 256;
  uint32_t movedCount;
  AddressRange moved[kMaxMoved];
  // Writes the helper could not let through yet (letWriteThrough): their threads wait.
  // Slots (0: free) the helper fills and the helper or a hook empties.
  static constexpr uint32_t kMaxWaiting = 256;
  std::atomic<uint32_t> waitingCount;
  std::atomic<uint64_t> waiting[kMaxWaiting];
  std::atomic<uint64_t> bytesRead;  // by the child so far
  std::atomic<uint32_t> scanDone;   // the child has read all it will
  std::atomic<uint32_t> released;   // the helper let the mappings go
  std::atomic<uint32_t> abandoned;  // ... before the scan was over
};

namespace {

// The index of the first guarded mapping that ends after `address` (they are sorted).
uint32_t firstEndingAfter(const HeapGuard& guard, uint64_t address) {
  const GuardedMapping* end = guard.mappings + guard.mappingCount;
  return static_cast<uint32_t>(
      std::upper_bound(guard.mappings, end, address,
                       [](uint64_t a, const GuardedMapping& m) { return a < m.range.end; }) -
      guard.mappings);
}

// Calls visit(m, from, to) for each active guarded mapping m that overlaps [begin, end),
// with [from, to) the overlap: a binary search, not a walk over every mapping (there may
// be thousands, and the hooks call this).
template <typename Guard, typename Visit>  // Guard: HeapGuard, const or not
void forEachActiveIn(Guard& guard, uint64_t begin, uint64_t end, Visit&& visit) {
  for (uint32_t i = firstEndingAfter(guard, begin); i < guard.mappingCount; ++i) {
    auto& m = guard.mappings[i];
    if (m.range.begin >= end) break;
    if (m.active) visit(m, std::max(begin, m.range.begin), std::min(end, m.range.end));
  }
}

GuardedMapping* mappingOf(HeapGuard& guard, uint64_t address) {
  int64_t i = guardedMappingAt(guard, address);
  return i < 0 ? nullptr : &guard.mappings[i];
}

// A system call's result (-errno on failure) without errno: the helper runs on the
// writer thread's TLS (a raw clone), and the two would race for it.
long rawSyscall3(long number, long a, long b, long c) {
  long result;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a), "S"(b), "d"(c)
               : "rcx", "r11", "memory");
  return result;
}

// Sets or lifts the write protection of [begin, end); lifting it also wakes the threads
// waiting to write there. 0, or the error: the kernel refuses either (EAGAIN) while an
// unmap, discard or move of registered memory waits for its event to be read, and until
// the thread that made it has gone on: V8 discards its pages all the time.
long protect(const HeapGuard& guard, uint64_t begin, uint64_t bytes, bool on) {
  uffdio_writeprotect wp{{begin, bytes}, on ? UFFDIO_WRITEPROTECT_MODE_WP : 0};
  return -rawSyscall3(SYS_ioctl, guard.uffd, UFFDIO_WRITEPROTECT, reinterpret_cast<long>(&wp));
}

// How long the writer keeps retrying a protection refused before it gives the mapping
// to the clone: a refusal lasts while one system call finishes.
constexpr uint64_t kSettleNs = 50'000'000;
// How often, at least, the helper tries the writes kept waiting again.
constexpr uint64_t kRetryWritesNs = 100'000;

void noteLost(HeapGuard& guard, uint64_t begin, uint64_t end) {
  uint32_t n = guard.lostCount.load(std::memory_order_relaxed);
  if (n == HeapGuard::kMaxLost) {
    guard.lostOverflow = true;
    return;
  }
  guard.lost[n] = {begin, end};
  guard.lostCount.store(n + 1, std::memory_order_release);
}

// Memory in [begin, end) was unmapped, moved or discarded: after the stop, what of it had
// no copy is lost to the child.
void changed(HeapGuard& guard, uint64_t begin, uint64_t end) {
  forEachActiveIn(guard, begin, end, [&](GuardedMapping& m, uint64_t from, uint64_t to) {
    if (guard.copying.load(std::memory_order_relaxed)) {
      uint64_t run = from;  // the start of the current run of pages without a copy
      for (uint64_t page = from; page < to; page += kPageBytes) {
        if (guard.copyOfPage[m.firstPage + (page - m.range.begin) / kPageBytes].load(
                std::memory_order_acquire) == 0) {
          continue;
        }
        if (run < page) noteLost(guard, run, page);
        run = page + kPageBytes;
      }
      if (run < to) noteLost(guard, run, to);
    } else {
      m.active = false;  // the clone copies it instead: what is there at the stop is right
    }
  });
}

// Gives a page of an active mapping a copy, after the stop, unless it has one: by the helper
// before the first write to it, or by a hook before the memory goes. The page is still
// protected until its slot is set, so the copy is what it held at the stop; whoever sets
// the slot first wins, a copy that lost is not used. Read by a system call, not memcpy:
// another thread may have unmapped the page, and the read then fails where a load would
// fault in the program. A page the program made unreadable is read through
// /proc/self/mem, which may: V8 makes a page PROT_NONE before it discards it. False when
// out of room or gone.
bool copyPage(HeapGuard& guard, const GuardedMapping& m, uint64_t page) {
  std::atomic<uint32_t>& slot = guard.copyOfPage[m.firstPage + (page - m.range.begin) / kPageBytes];
  if (slot.load(std::memory_order_acquire) != 0) return true;
  uint32_t index = guard.copiesUsed.fetch_add(1, std::memory_order_relaxed);
  if (index >= guard.copyCapacity) return false;
  iovec to{guard.copies + uint64_t{index} * kPageBytes, kPageBytes};
  iovec from{reinterpret_cast<void*>(page), kPageBytes};
  pid_t self = static_cast<pid_t>(syscall(SYS_getpid));  // the helper's own, sharing this memory
  if (syscall(SYS_process_vm_readv, self, &to, 1, &from, 1, 0) != kPageBytes &&
      syscall(SYS_pread64, guard.memFd, to.iov_base, kPageBytes, page) != kPageBytes) {
    return false;
  }
  uint32_t none = 0;
  slot.compare_exchange_strong(none, index + 1, std::memory_order_seq_cst);
  return true;
}

// Memory discarded (MADV_DONTNEED and the like) but still mapped. Before the stop it is
// noted, and the stop decides (startCopyingBeforeWrites); after it, or with no room to
// note it, it is a change like an unmap.
void discarded(HeapGuard& guard, uint64_t begin, uint64_t end) {
  if (guard.copying.load(std::memory_order_relaxed) ||
      guard.discardedCount == HeapGuard::kMaxDiscarded) {
    changed(guard, begin, end);
    return;
  }
  guard.discarded[guard.discardedCount++] = {begin, end};
}

// Lifts a page's protection for the thread waiting to write it, or keeps the page to try
// again when the kernel refuses for now: that thread would otherwise wait until the guard
// is let go, the whole scan (in about half the snapshots of a 1.7 GB node heap).
void letWriteThrough(HeapGuard& guard, uint64_t page) {
  if (protect(guard, page, kPageBytes, false) != EAGAIN) return;
  for (auto& slot : guard.waiting) {
    uint64_t empty = 0;
    if (slot.compare_exchange_strong(empty, page, std::memory_order_acq_rel)) {
      guard.waitingCount.fetch_add(1, std::memory_order_release);
      return;
    }
  }
}

// A write to a protected page: after the stop, its content goes to a copy first.
void written(HeapGuard& guard, uint64_t address) {
  uint64_t page = address & ~(kPageBytes - 1);
  GuardedMapping* m = mappingOf(guard, page);
  if (m && m->active && guard.copying.load(std::memory_order_relaxed)) {
    if (!copyPage(guard, *m, page)) noteLost(guard, page, page + kPageBytes);  // it goes on
  } else if (m && m->active) {
    if (guard.writtenCount < HeapGuard::kMaxWritten) {
      guard.written[guard.writtenCount++] = page;
    } else {
      guard.writtenOverflow = true;
    }
  }
  letWriteThrough(guard, page);
}

// Tries the waiting writes again; after the stop a page gets its copy first (the stop
// protected it again, or its write came after). By the helper, which notes a page it
// cannot copy lost and lets its write through all the same, or by a hook, which leaves
// such a page to the helper. Lifting a protection twice does no harm.
void retryWaitingWrites(HeapGuard& guard, bool helper) {
  if (guard.waitingCount.load(std::memory_order_acquire) == 0) return;
  for (auto& slot : guard.waiting) {
    uint64_t page = slot.load(std::memory_order_acquire);
    if (page == 0) continue;
    GuardedMapping* m = mappingOf(guard, page);
    if (m && m->active && guard.copying.load(std::memory_order_relaxed) &&
        !copyPage(guard, *m, page)) {
      if (!helper) continue;
      noteLost(guard, page, page + kPageBytes);
    }
    if (protect(guard, page, kPageBytes, false) == EAGAIN) continue;
    if (slot.compare_exchange_strong(page, 0, std::memory_order_acq_rel)) {
      guard.waitingCount.fetch_sub(1, std::memory_order_release);
    }
  }
}

// Mappings that must stay in the clone: the tracer's (the child runs on them), the
// loaded objects' (a .bss beyond its file is anonymous), threads' stacks (written all
// the time) and ended threads' cached stacks.
bool excluded(const SnapshotJob& job, const AddressRange& mapping) {
  TracerRange tracer = tracerRange();
  if (mapping.overlaps(tracer.begin, tracer.end)) return true;
  for (uint32_t i = 0; i < job.ownSegmentCount; ++i) {
    if (mapping.overlaps(job.ownSegments[i].begin, job.ownSegments[i].end)) return true;
  }
  for (uint32_t i = 0; i < job.segmentCount; ++i) {
    if (mapping.overlaps(job.segments[i].begin, job.segments[i].end)) return true;
  }
  if (mapping.overlaps(job.creatorStack, job.creatorStack + 1)) return true;
  for (uint32_t i = 0; i < rings.count(); ++i) {
    const Ring* ring = rings.at(i);
    if (ring && ring->stackHigh && mapping.overlaps(ring->stackLow, ring->stackHigh)) return true;
  }
  // A cached stack of a thread that ended: its top holds the thread's TLS and DTV
  // pointer, a root; glibc discards most of the rest (MADV_DONTNEED) as the thread ends.
  for (uint32_t i = 0; i < job.deadStackCount; ++i) {
    if (mapping.overlaps(job.deadStacks[i].begin, job.deadStacks[i].end)) return true;
  }
  return false;
}

// Whether the program marked the whole mapping MADV_DONTFORK (job.dontFork is sorted).
bool markedDontFork(const SnapshotJob& job, const AddressRange& mapping) {
  const SnapshotJob::Range* end = job.dontFork + job.dontForkCount;
  const SnapshotJob::Range* it =
      std::upper_bound(job.dontFork, end, mapping.begin,
                       [](uint64_t a, const SnapshotJob::Range& r) { return a < r.end; });
  return it != end && it->begin <= mapping.begin && mapping.end <= it->end;
}

// How much of a mapping is resident: what the clone would copy page tables for (a
// thread's stack is 8 MiB of which a few pages are used).
uint64_t residentBytes(const AddressRange& range) {
  unsigned char resident[4096];
  uint64_t found = 0;
  for (uint64_t at = range.begin; at < range.end;) {
    uint64_t pages = std::min<uint64_t>(sizeof resident, (range.end - at) / kPageBytes);
    if (syscall(SYS_mincore, at, pages * kPageBytes, resident) != 0) break;
    for (uint64_t p = 0; p < pages; ++p) found += (resident[p] & 1) * kPageBytes;
    at += pages * kPageBytes;
  }
  return found;
}

int openUserfaultfd() {
  // Not UFFD_USER_MODE_ONLY: a write by the kernel (read() into the heap) must wait for
  // the helper like any other, not fail with EFAULT.
  int fd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (fd < 0) return -1;
  uffdio_api api{UFFD_API, kFeatures, 0};
  if (ioctl(fd, UFFDIO_API, &api) != 0) {
    syscall(SYS_close, fd);
    return -1;
  }
  return fd;
}

}  // namespace

HeapGuard* armHeapGuard(const SnapshotJob& job, bool automatic) {
  // 64 MiB resident: about 1.5 ms of page tables to copy.
  constexpr uint64_t kAutomaticMinimumBytes = uint64_t{64} << 20;
  // Too big for the stack of whichever thread takes the snapshot; snapshots are taken one
  // at a time (snapshot.cpp's job), so one list serves them all.
  static GuardedMapping chosen[HeapGuard::kMaxMappings];
  uint32_t count = 0;
  uint64_t pages = 0;
  uint64_t residentTotal = 0;
  uint64_t sparseCloned = 0;  // resident bytes of mostly unwritten mappings left to the clone
  MappingLine previous{};
  forEachProcLine("/proc/self/maps", [&](const char* line) {
    MappingLine m;
    if (!parseMappingLine(line, &m) || count == HeapGuard::kMaxMappings) return;
    bool belowGuardPage = previous.end == m.begin && previous.end - previous.begin == kPageBytes &&
                          strncmp(previous.perms, "---p", 4) == 0 && previous.anonymous();
    previous = m;
    bool mainHeap = strcmp(m.path, "[heap]") == 0;
    if (!m.readable() || !m.writable() || !m.isPrivate() || !(m.anonymous() || mainHeap)) return;
    if (m.end - m.begin < kMinimumBytes || excluded(job, {m.begin, m.end})) return;
    // Mostly never written (memory reserved up front): cheap for the clone, whose page
    // tables hold only what was, while the guard would protect and the child read all of
    // it (an untouched 16 GiB reservation took 27 s to scan). So long as what the clone
    // copies for such mappings stays small: their pages count in the pause. --guard-heap
    // guards them all, and needs no count of resident pages.
    uint64_t resident = automatic ? residentBytes({m.begin, m.end}) : 0;
    if (automatic && resident < (m.end - m.begin) / kMostlyWrittenShare &&
        sparseCloned + resident <= kAutomaticMinimumBytes) {
      sparseCloned += resident;
      return;
    }
    chosen[count++] = {{m.begin, m.end}, mainHeap, true, false, belowGuardPage, pages};
    pages += (m.end - m.begin) / kPageBytes;
    residentTotal += resident;
  });
  if (count == 0 || (automatic && residentTotal < kAutomaticMinimumBytes)) return nullptr;
  int uffd = openUserfaultfd();
  if (uffd < 0) return nullptr;
  int memFd =
      static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/mem", O_RDONLY | O_CLOEXEC));
  if (memFd < 0) {
    syscall(SYS_close, uffd);
    return nullptr;
  }
  // The copies: room for every page (the program may write them all while the child
  // scans) twice over, reserved, not committed: only pages copied take memory, as with
  // fork's. Twice: a copy that loses the race for its page's slot is not used, and its
  // room is not given back; threads freeing blocks on the same pages while the helper
  // copies them for writes wasted enough to run out (test_fork_churn, guarded, when its
  // two arenas were 66 pages each: every page copied, and 1-4 copies more wanted; with
  // its arenas of about 220 pages now, room for each page once still leaves a snapshot
  // incomplete in 4 of 6 runs).
  uint64_t copyPages = 2 * pages;
  size_t header = wholePages(sizeof(HeapGuard));
  size_t table = wholePages(pages * sizeof(std::atomic<uint32_t>));
  size_t bytes = header + table + copyPages * kPageBytes;
  // Raw system calls: the tracer's own mappings are none of the hooks' business.
  void* memory =
      reinterpret_cast<void*>(syscall(SYS_mmap, nullptr, bytes, PROT_READ | PROT_WRITE,
                                      MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (memory == MAP_FAILED) {
    syscall(SYS_close, uffd);
    syscall(SYS_close, memFd);
    return nullptr;
  }
  auto* guard = new (memory) HeapGuard();
  guard->bytes = bytes;
  guard->uffd = uffd;
  guard->memFd = memFd;
  guard->copyOfPage =
      reinterpret_cast<std::atomic<uint32_t>*>(static_cast<unsigned char*>(memory) + header);
  guard->copies = static_cast<unsigned char*>(memory) + header + table;
  guard->copyCapacity = static_cast<uint32_t>(copyPages);
  for (uint32_t i = 0; i < count; ++i) {
    uffdio_register reg{{chosen[i].range.begin, chosen[i].range.end - chosen[i].range.begin},
                        UFFDIO_REGISTER_MODE_WP,
                        0};
    // Refused (another userfaultfd has it, or it changed since the listing): left out.
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) == 0) guard->mappings[guard->mappingCount++] = chosen[i];
  }
  if (guard->mappingCount == 0) {
    disarmHeapGuard(guard);
    return nullptr;
  }
  return guard;
}

void protectGuardedMappings(HeapGuard& guard) {
  // The helper reads the events meanwhile: a refusal passes once the call behind it has.
  // Given up, a mapping goes to the clone (in one node run all 3,391 did: a 49 ms pause).
  uint64_t deadline = monotonicNs() + kSettleNs;
  for (uint32_t i = 0; i < guard.mappingCount; ++i) {
    GuardedMapping& m = guard.mappings[i];
    while (long error = protect(guard, m.range.begin, m.range.end - m.range.begin, true)) {
      if (error != EAGAIN || monotonicNs() > deadline) {
        m.active = false;
        break;
      }
      syscall(SYS_sched_yield);
    }
  }
}

void disarmHeapGuard(HeapGuard* guard) {
  if (!guard) return;
  stopKeeping();                // a helper that was killed did not
  closeHeapGuardFiles(*guard);  // the userfaultfd's end unregisters whatever is still registered
  syscall(SYS_munmap, guard, guard->bytes);
}

void serveHeapGuard(HeapGuard& guard, uint64_t ns) {
  timespec wait{static_cast<time_t>(ns / 1'000'000'000u), static_cast<long>(ns % 1'000'000'000u)};
  pollfd poller{guard.uffd, POLLIN, 0};
  bool writesWaiting = guard.waitingCount.load(std::memory_order_relaxed) > 0;
  if (writesWaiting && ns > kRetryWritesNs) wait = {0, static_cast<long>(kRetryWritesNs)};
  if (syscall(SYS_ppoll, &poller, 1, &wait, nullptr, 0) <= 0) {
    if (writesWaiting) retryWaitingWrites(guard, true);
    return;
  }
  uffd_msg messages[16];
  for (;;) {
    long n = syscall(SYS_read, guard.uffd, messages, sizeof messages);
    if (n <= 0) {  // EAGAIN: nothing more
      retryWaitingWrites(guard, true);
      return;
    }
    for (long i = 0; i < n / static_cast<long>(sizeof(uffd_msg)); ++i) {
      const uffd_msg& msg = messages[i];
      switch (msg.event) {
        case UFFD_EVENT_PAGEFAULT:
          written(guard, msg.arg.pagefault.address);
          break;
        case UFFD_EVENT_REMOVE:
          discarded(guard, msg.arg.remove.start, msg.arg.remove.end);
          break;
        case UFFD_EVENT_UNMAP:
          changed(guard, msg.arg.remove.start, msg.arg.remove.end);
          break;
        case UFFD_EVENT_REMAP:
          changed(guard, msg.arg.remap.from, msg.arg.remap.from + msg.arg.remap.len);
          if (guard.movedCount < HeapGuard::kMaxMoved) {
            guard.moved[guard.movedCount++] = {msg.arg.remap.to,
                                               msg.arg.remap.to + msg.arg.remap.len};
          }
          break;
        default:
          break;
      }
    }
  }
}

void startCopyingBeforeWrites(HeapGuard& guard, const SnapshotJob& job) {
  serveHeapGuard(guard, 0);  // faults that came in while the threads were being stopped
  // A thread's stack (one that never allocated has no ring to say where it is) is written
  // all the time: the clone copies it better. So it does a mapping shaped like one (glibc
  // puts an inaccessible page below a thread's stack) that no stopped thread runs on: the
  // stack of a thread that ended, which glibc keeps and may unmap by itself, out of the
  // hooks' sight, while the child reads it (a whole 8 MiB stack of test_blocking's went
  // that way, by the best reading of it, in 1 of 4 runs with both cores busy).
  for (uint32_t i = 0; i < job.threadCount; ++i) {
    if (!job.threads[i].stopped) continue;
    GuardedMapping* m = mappingOf(guard, job.threads[i].regs.rsp);
    if (m) m->active = false;
  }
  // And which ones the program marked DONTFORK, from the list the stop brought up to date:
  // V8 marks each page it maps, and maps many between two snapshots.
  for (uint32_t i = 0; i < guard.mappingCount; ++i) {
    GuardedMapping& m = guard.mappings[i];
    if (m.belowGuardPage) m.active = false;
    m.dontFork = markedDontFork(job, m.range);
  }
  // Memory discarded since protection: a DONTFORK mapping stays guarded and the range is
  // protected again (V8 discards pages of its heap all the time: dropping each such page
  // from the guard left it to the clone, 3,134 of 3,711 in one snapshot of a 1.7 GB node
  // heap). Any other goes to the clone, as an unmapped one does: a thread's stack that
  // glibc discards as the thread ends may then be unmapped, by glibc itself, while the
  // child reads it.
  for (uint32_t i = 0; i < guard.discardedCount; ++i) {
    const AddressRange& d = guard.discarded[i];
    forEachActiveIn(guard, d.begin, d.end, [&](GuardedMapping& m, uint64_t from, uint64_t to) {
      if (!m.dontFork || protect(guard, from, to - from, true) != 0) m.active = false;
    });
  }
  if (guard.writtenOverflow) {
    protectGuardedMappings(guard);
  } else {
    for (uint32_t i = 0; i < guard.writtenCount; ++i) {
      const GuardedMapping* m = mappingOf(guard, guard.written[i]);
      if (m && m->active) protect(guard, guard.written[i], kPageBytes, true);
    }
  }
  guard.copying.store(1, std::memory_order_seq_cst);
  startKeeping(guard);
}

void keepForGuardedScan(uint64_t begin, uint64_t end) {
  // Counted in before looking (stopKeeping clears, then waits for the count): a hook that
  // still finds the guard here uses memory that stays mapped until it is done.
  guardedScanUsers.fetch_add(1, std::memory_order_seq_cst);
  if (HeapGuard* guard = guardedScan.load(std::memory_order_seq_cst)) {
    // The guarded mappings in the range (sorted), not every page of it: a program may
    // replace gigabytes of reservation at once.
    begin &= ~(kPageBytes - 1);
    forEachActiveIn(*guard, begin, end, [&](GuardedMapping& m, uint64_t from, uint64_t to) {
      // Out of room or unreadable: the helper notes a page lost when the memory goes.
      for (uint64_t page = from; page < to; page += kPageBytes) {
        copyPage(*guard, m, page);
      }
    });
  }
  guardedScanUsers.fetch_sub(1, std::memory_order_release);
}

void letWaitingWritesThrough() {
  guardedScanUsers.fetch_add(1, std::memory_order_seq_cst);  // as keepForGuardedScan
  if (HeapGuard* guard = guardedScan.load(std::memory_order_seq_cst)) {
    retryWaitingWrites(*guard, false);
  }
  guardedScanUsers.fetch_sub(1, std::memory_order_release);
}

void forgetGuardedScanAfterFork() {
  guardedScan.store(nullptr, std::memory_order_relaxed);
  guardedScanUsers.store(0, std::memory_order_relaxed);
}

void setGuardedForkable(const HeapGuard& guard, bool forkable) {
  for (uint32_t i = 0; i < guard.mappingCount; ++i) {
    const GuardedMapping& m = guard.mappings[i];
    if (!m.active || m.dontFork) continue;
    syscall(SYS_madvise, m.range.begin, m.range.end - m.range.begin,
            forkable ? MADV_DOFORK : MADV_DONTFORK);
  }
}

void serveUntilScanDone(HeapGuard& guard, pid_t child, uint64_t deadlineNs) {
  // Mappings the clone copied after all (a thread's stack, memory the program discarded
  // before the stop) need no guard: their writes go ahead from now on.
  for (uint32_t i = 0; i < guard.mappingCount; ++i) {
    const GuardedMapping& m = guard.mappings[i];
    if (!m.active) protect(guard, m.range.begin, m.range.end - m.range.begin, false);
  }
  // A child that died (its writer gone with the program) never says it has read.
  int childFd = child > 0 ? static_cast<int>(syscall(SYS_pidfd_open, child, 0)) : -1;
  while (guard.scanDone.load(std::memory_order_acquire) == 0) {
    pollfd ended{childFd, POLLIN, 0};
    bool gone = childFd < 0 || syscall(SYS_poll, &ended, 1, 0) != 0;
    if (gone || monotonicNs() > deadlineNs) {
      guard.abandoned.store(1, std::memory_order_release);
      break;
    }
    serveHeapGuard(guard, 1'000'000);
  }
  if (childFd >= 0) syscall(SYS_close, childFd);
  stopKeeping();
  serveHeapGuard(guard, 0);  // changes the child may not have seen
  auto unregister = [&](const AddressRange& r) {
    uffdio_range range{r.begin, r.end - r.begin};
    ioctl(guard.uffd, UFFDIO_UNREGISTER, &range);
  };
  for (uint32_t i = 0; i < guard.mappingCount; ++i) unregister(guard.mappings[i].range);
  for (uint32_t i = 0; i < guard.movedCount; ++i) unregister(guard.moved[i]);
  guard.released.store(1, std::memory_order_release);
  futexWake(guard.released);
}

bool mapGuardedMapping(const GuardedMapping& m) {
  auto* at = reinterpret_cast<void*>(
      syscall(SYS_mmap, m.range.begin, m.range.end - m.range.begin, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0));
  return at == reinterpret_cast<void*>(m.range.begin);
}

void readAtStop(HeapGuard& guard, const GuardedMapping& m, uint64_t begin, uint64_t end,
                LostMemoryFn lost, void* context) {
  int memFd = guard.memFd;
  // process_vm_readv copies without a bounce page; /proc/self/mem needs no ptrace right.
  iovec local{reinterpret_cast<void*>(begin), end - begin};
  iovec remote{reinterpret_cast<void*>(begin), end - begin};
  long n = syscall(SYS_process_vm_readv, getppid(), &local, 1, &remote, 1, 0);
  if (n < 0) n = syscall(SYS_pread64, memFd, begin, end - begin, begin);
  // Some of it is gone (unmapped since): page by page, to keep what is left.
  constexpr uint64_t kMaxPages = kMaxReadBytes / kPageBytes;
  uint64_t unread[kMaxPages / 64] = {};
  if (n != static_cast<long>(end - begin)) {
    for (uint64_t i = 0; i < (end - begin) / kPageBytes && i < kMaxPages; ++i) {
      uint64_t page = begin + i * kPageBytes;
      if (syscall(SYS_pread64, memFd, page, kPageBytes, page) != kPageBytes) {
        unread[i / 64] |= uint64_t{1} << (i % 64);
      }
    }
  }
  // Read before looking for copies: a page the program wrote since was copied before the
  // write could happen, so a page whose copy is not there yet was read unchanged.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  guard.bytesRead.fetch_add(end - begin, std::memory_order_relaxed);
  for (uint64_t page = begin; page < end; page += kPageBytes) {
    uint32_t slot = guard.copyOfPage[m.firstPage + (page - m.range.begin) / kPageBytes].load(
        std::memory_order_seq_cst);
    if (slot) {
      memcpy(reinterpret_cast<void*>(page), guard.copies + uint64_t{slot - 1} * kPageBytes,
             kPageBytes);
    } else if (uint64_t i = (page - begin) / kPageBytes; unread[i / 64] >> (i % 64) & 1) {
      lost(context, page, page + kPageBytes);  // gone before anything copied it
    }
  }
}

bool peekAtStop(const HeapGuard& guard, const GuardedMapping& m, uint64_t address, void* out,
                size_t bytes) {
  if (syscall(SYS_pread64, guard.memFd, out, bytes, address) != static_cast<long>(bytes))
    return false;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  uint64_t page = address & ~(kPageBytes - 1);
  uint32_t slot = guard.copyOfPage[m.firstPage + (page - m.range.begin) / kPageBytes].load(
      std::memory_order_seq_cst);
  if (slot) memcpy(out, guard.copies + uint64_t{slot - 1} * kPageBytes + (address - page), bytes);
  return true;
}

void finishReading(HeapGuard& guard, LostMemoryFn lost, void* context) {
  guard.scanDone.store(1, std::memory_order_release);
  // Changes the program made while the child read are known once the helper let go; a
  // helper that was killed never does.
  uint64_t deadline = monotonicNs() + 10'000'000'000;
  bool released = false;
  while (!(released = guard.released.load(std::memory_order_acquire)) && monotonicNs() < deadline) {
    timespec slice{0, 20'000'000};
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&guard.released), FUTEX_WAIT, 0, &slice, nullptr,
            0);
  }
  bool everything =
      !released || guard.abandoned.load(std::memory_order_acquire) || guard.lostOverflow;
  for (uint32_t i = 0; i < guard.mappingCount; ++i) {
    const GuardedMapping& m = guard.mappings[i];
    if (m.active && everything) lost(context, m.range.begin, m.range.end);
  }
  uint32_t n = guard.lostCount.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; ++i) lost(context, guard.lost[i].begin, guard.lost[i].end);
}

uint32_t guardedMappingCount(const HeapGuard& guard) { return guard.mappingCount; }
void adviseOutsideGuard(const HeapGuard* guard, uint64_t begin, uint64_t end, int advice) {
  uint64_t next = begin;  // the start of what is not yet advised nor guarded
  if (guard) {
    forEachActiveIn(*guard, begin, end, [&](const GuardedMapping& m, uint64_t from, uint64_t to) {
      if (!m.dontFork) return;
      if (next < from) syscall(SYS_madvise, next, from - next, advice);
      next = to;
    });
  }
  if (next < end) syscall(SYS_madvise, next, end - next, advice);
}
int64_t guardedMappingAt(const HeapGuard& guard, uint64_t address) {
  uint32_t i = firstEndingAfter(guard, address);
  return i < guard.mappingCount && guard.mappings[i].range.begin <= address ? int64_t{i} : -1;
}
void closeHeapGuardFiles(const HeapGuard& guard) {
  syscall(SYS_close, guard.uffd);
  syscall(SYS_close, guard.memFd);
}
uint64_t heapGuardBytesRead(const HeapGuard& guard) {
  return guard.bytesRead.load(std::memory_order_relaxed);
}
AddressRange heapGuardMemory(const HeapGuard& guard) {
  auto begin = reinterpret_cast<uint64_t>(&guard);
  return {begin, begin + guard.bytes};
}
const GuardedMapping& guardedMapping(const HeapGuard& guard, uint32_t i) {
  return guard.mappings[i];
}

}  // namespace tidemark::preload
