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
#include <initializer_list>
#include <new>

#include "monotonic_clock.h"
#include "proc_maps.h"
#include "raw_memory.h"
#include "raw_syscall.h"
#include "ring.h"
#include "snapshot_job.h"

namespace tidemark::preload {

namespace {

constexpr uint64_t kMinimumBytes = uint64_t{256} << 10;
// A mapping less than 1 / this resident is sparse (heap_guard.h).
constexpr uint64_t kMostlyWrittenShare = 4;
// What the clone's copy of one page table (2 MiB of a mapping with pages in it) costs, in
// bytes of resident pages that cost the same: a fork of 64 GB reserved with 16,384 pages
// written took 55-127 ms spread out, 1.9-3.4 ms with them side by side.
constexpr uint64_t kPageTableCostBytes = uint64_t{64} << 10;
constexpr uint64_t kPageTableSpan = uint64_t{2} << 20;
// Entries of a page table the hooks read at a time (populated_pages.h; with PAGEMAP_SCAN,
// the memory of 85 runs), on the program's stack (keepSparse).
constexpr uint64_t kHookEntries = 256;
// Guarded pages per byte of HeapGuard::copiedGroup.
constexpr uint64_t kPagesPerCopiedGroup = 512;
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
  int memFd;    // the program's /proc/self/mem: reads what the program made unreadable
  int pagemap;  // the program's /proc/self/pagemap: which pages it has (-1: unknown)
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
  // Per kPagesPerCopiedGroup of copyOfPage: 1 when one may be set, so that the child
  // reads (and the shared memory holds) only the parts of the table in use.
  std::atomic<uint8_t>* copiedGroup;
  unsigned char* copies;
  uint32_t copyCapacity;
  std::atomic<uint32_t> copiesUsed;  // the helper's and the free hooks' (keepForGuardedScan)
  std::atomic<uint32_t> lostCount;
  bool lostOverflow;
  AddressRange lost[kMaxLost];
  // Ranges of sparse mappings a hook kept (keepForGuardedScan) after the stop: what they
  // held at the stop is their pages' copies and zeros elsewhere, whatever the program has
  // there since (it may map new memory there). A slot counts once its end is set.
  static constexpr uint32_t kMaxKept = 256;
  std::atomic<uint32_t> keptCount;
  uint64_t keptBegin[kMaxKept];
  std::atomic<uint64_t> keptEnd[kMaxKept];
  // Guarded memory mremap moved elsewhere: still registered there, let go at the end too.
  static constexpr uint32_t kMaxMoved = 256;
  uint32_t movedCount;
  AddressRange moved[kMaxMoved];
  // Faults the helper could not let through yet (letFaultThrough): their threads wait.
  // Slots (0: free; a page, kMissing set for a missing one) the helper fills and the
  // helper or a hook empties.
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

// A page's entry in copyOfPage when its content at the stop was zeros (a page of a sparse
// mapping it had none of): no copy needed.
constexpr uint32_t kZerosAtStop = UINT32_MAX;

// Page `page` of `m`'s entry in copyOfPage, or 0 when none of its group is set.
uint32_t copyOf(const HeapGuard& guard, const GuardedMapping& m, uint64_t page) {
  uint64_t index = m.firstPage + (page - m.range.begin) / kPageBytes;
  if (guard.copiedGroup[index / kPagesPerCopiedGroup].load(std::memory_order_seq_cst) == 0)
    return 0;
  return guard.copyOfPage[index].load(std::memory_order_seq_cst);
}

// Sets page `page` of `m`'s entry in copyOfPage unless it has one; false when it had.
bool setCopyOf(HeapGuard& guard, const GuardedMapping& m, uint64_t page, uint32_t entry) {
  uint64_t index = m.firstPage + (page - m.range.begin) / kPageBytes;
  guard.copiedGroup[index / kPagesPerCopiedGroup].store(1, std::memory_order_seq_cst);
  uint32_t none = 0;
  return guard.copyOfPage[index].compare_exchange_strong(none, entry, std::memory_order_seq_cst);
}

// Notes [begin, end) of a sparse mapping kept, once the pages the program has there have
// their copies; false when there is no room.
bool noteKept(HeapGuard& guard, uint64_t begin, uint64_t end) {
  uint32_t n = guard.keptCount.fetch_add(1, std::memory_order_seq_cst);
  if (n >= HeapGuard::kMaxKept) return false;
  guard.keptBegin[n] = begin & ~(kPageBytes - 1);
  guard.keptEnd[n].store((end + kPageBytes - 1) & ~(kPageBytes - 1), std::memory_order_seq_cst);
  return true;
}

// The first kept range that overlaps [begin, end) (the lowest, clipped to it), or an
// empty one at `end`.
AddressRange firstKept(const HeapGuard& guard, uint64_t begin, uint64_t end) {
  AddressRange found{end, end};
  uint32_t n = std::min(guard.keptCount.load(std::memory_order_seq_cst), HeapGuard::kMaxKept);
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t keptEnd = guard.keptEnd[i].load(std::memory_order_seq_cst);
    uint64_t keptBegin = std::max(guard.keptBegin[i], begin);
    if (keptEnd > begin && keptBegin < end && keptBegin < found.begin) {
      found = {keptBegin, std::min(keptEnd, end)};
    }
  }
  return found;
}

// Memory in [begin, end) was unmapped, moved or discarded: after the stop, what of it had
// no copy and was not kept is lost to the child.
void changed(HeapGuard& guard, uint64_t begin, uint64_t end) {
  forEachActiveIn(guard, begin, end, [&](GuardedMapping& m, uint64_t from, uint64_t to) {
    if (guard.copying.load(std::memory_order_relaxed)) {
      uint64_t run = from;  // the start of the current run of pages without a copy
      AddressRange kept = firstKept(guard, from, to);
      for (uint64_t page = from; page < to;) {
        if (page >= kept.begin && kept.begin < kept.end) {
          if (run < page) noteLost(guard, run, page);
          page = run = std::max(page, kept.end);
          kept = firstKept(guard, page, to);
          continue;
        }
        if (copyOf(guard, m, page) != 0) {
          if (run < page) noteLost(guard, run, page);
          run = page + kPageBytes;
        }
        page += kPageBytes;
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
// out of room or gone. `zeros`: the page held none at the stop (a sparse mapping's).
bool copyPage(HeapGuard& guard, const GuardedMapping& m, uint64_t page, bool zeros = false) {
  if (copyOf(guard, m, page) != 0) return true;
  if (zeros) {
    setCopyOf(guard, m, page, kZerosAtStop);
    return true;
  }
  uint32_t index = guard.copiesUsed.fetch_add(1, std::memory_order_relaxed);
  if (index >= guard.copyCapacity) return false;
  iovec to{guard.copies + uint64_t{index} * kPageBytes, kPageBytes};
  iovec from{reinterpret_cast<void*>(page), kPageBytes};
  pid_t self = static_cast<pid_t>(syscall(SYS_getpid));  // the helper's own, sharing this memory
  if (syscall(SYS_process_vm_readv, self, &to, 1, &from, 1, 0) != kPageBytes &&
      syscall(SYS_pread64, guard.memFd, to.iov_base, kPageBytes, page) != kPageBytes) {
    return false;
  }
  setCopyOf(guard, m, page, index + 1);
  return true;
}

// copyPage for many pages of one mapping, with one process_vm_readv for up to kPages of
// them: a hook keeping a sparse reservation being unmapped copies thousands of scattered
// pages, and two system calls for each took most of the 0.2 s such an munmap took. The
// pages read go into consecutive copies; a page the read did not reach is copied alone.
class PageCopies {
 public:
  PageCopies(HeapGuard& guard, const GuardedMapping& m) : guard_(guard), m_(m) {}
  ~PageCopies() { flush(); }

  void add(uint64_t page) {
    if (copyOf(guard_, m_, page) != 0) return;
    if (count_ == kPages) flush();
    pages_[count_++] = page;
  }
  // Whether every page added so far has its copy (or had one).
  bool allCopied() {
    flush();
    return allCopied_;
  }

 private:
  static constexpr uint32_t kPages = 32;

  void flush() {
    if (count_ == 0) return;
    uint32_t first = guard_.copiesUsed.fetch_add(count_, std::memory_order_relaxed);
    uint32_t usable =
        first >= guard_.copyCapacity ? 0 : std::min(count_, guard_.copyCapacity - first);
    long read = 0;
    if (usable > 0) {
      iovec to{guard_.copies + uint64_t{first} * kPageBytes, usable * kPageBytes};
      iovec from[kPages];
      uint32_t runs = 0;
      for (uint32_t i = 0; i < usable; ++i) {
        if (runs > 0 &&
            reinterpret_cast<uint64_t>(from[runs - 1].iov_base) + from[runs - 1].iov_len ==
                pages_[i]) {
          from[runs - 1].iov_len += kPageBytes;
        } else {
          from[runs++] = {reinterpret_cast<void*>(pages_[i]), kPageBytes};
        }
      }
      pid_t self =
          static_cast<pid_t>(syscall(SYS_getpid));  // the helper's own, sharing this memory
      read = std::max(0L, syscall(SYS_process_vm_readv, self, &to, 1, from, runs, 0));
    }
    for (uint32_t i = 0; i < count_; ++i) {
      if ((i + 1) * kPageBytes <= static_cast<uint64_t>(read)) {
        setCopyOf(guard_, m_, pages_[i], first + i + 1);
      } else {
        allCopied_ = copyPage(guard_, m_, pages_[i]) && allCopied_;
      }
    }
    count_ = 0;
  }

  HeapGuard& guard_;
  const GuardedMapping& m_;
  uint64_t pages_[kPages];
  uint32_t count_ = 0;
  bool allCopied_ = true;
};

// Whether `page` lies in memory noted lost (changed(): gone after the stop without a copy).
bool notedLost(const HeapGuard& guard, uint64_t page) {
  uint32_t n = guard.lostCount.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; ++i) {
    if (guard.lost[i].begin <= page && page < guard.lost[i].end) return true;
  }
  return guard.lostOverflow;
}

// copyPage before a fault on `page` goes through, after the stop: a write to a protected
// page, or (`missing`) a first touch of a page a sparse mapping has none of. A sparse
// mapping's page the program has none of is not read: that would fault for a missing
// page, which only the helper itself answers. The only way to have one there is through
// the helper, so it held zeros at the stop. Nor one noted lost: the kernel discards a page
// once the helper has read the event that says so, and it may be doing that now
// (serveHeapGuard notes every such event it read before it reads a page).
bool keepBeforeFault(HeapGuard& guard, const GuardedMapping& m, uint64_t page, bool missing) {
  if (missing) return copyPage(guard, m, page, true);
  if (m.sparse && notedLost(guard, page)) return true;
  return copyPage(guard, m, page, m.sparse && !pageWritten(guard.pagemap, page));
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

// Maps the zero page at `page`, which a sparse mapping has none of, and wakes the threads
// waiting for it; 0, or the error (EAGAIN as for protect). A write to it then copies the
// zero page, unseen: the page was noted, or kept as zeros, before.
long fillWithZeros(const HeapGuard& guard, uint64_t page) {
  uffdio_zeropage zeros{{page, kPageBytes}, 0, 0};
  long error = -rawSyscall3(SYS_ioctl, guard.uffd, UFFDIO_ZEROPAGE, reinterpret_cast<long>(&zeros));
  if (error != EEXIST) return error;
  uffdio_range range{page, kPageBytes};  // it has one already: its threads need waking only
  return -rawSyscall3(SYS_ioctl, guard.uffd, UFFDIO_WAKE, reinterpret_cast<long>(&range));
}

// A fault waiting to go through: a page (page-aligned), kMissing set for a missing one.
constexpr uint64_t kMissing = 1;

// Lets the threads waiting on a fault go on: lifts the page's protection, or fills a
// missing page. 0, or the error.
long letThrough(const HeapGuard& guard, uint64_t fault) {
  uint64_t page = fault & ~kMissing;
  return fault & kMissing ? fillWithZeros(guard, page) : protect(guard, page, kPageBytes, false);
}

// letThrough, or keeps the fault to try again when the kernel refuses for now: the thread
// would otherwise wait until the guard is let go, the whole scan (in about half the
// snapshots of a 1.7 GB node heap).
void letFaultThrough(HeapGuard& guard, uint64_t fault) {
  if (letThrough(guard, fault) != EAGAIN) return;
  for (auto& slot : guard.waiting) {
    uint64_t empty = 0;
    if (slot.compare_exchange_strong(empty, fault, std::memory_order_acq_rel)) {
      guard.waitingCount.fetch_add(1, std::memory_order_release);
      return;
    }
  }
}

// A write to a protected page, or (`missing`) a first touch of a page a sparse mapping has
// none of. After the stop its content then is kept first (zeros for a missing page);
// before it, the page is noted, to be protected at the stop.
void faulted(HeapGuard& guard, uint64_t address, bool missing) {
  uint64_t page = address & ~(kPageBytes - 1);
  GuardedMapping* m = mappingOf(guard, page);
  if (m && m->active && guard.copying.load(std::memory_order_relaxed)) {
    if (!keepBeforeFault(guard, *m, page, missing)) noteLost(guard, page, page + kPageBytes);
  } else if (m && m->active) {
    if (guard.writtenCount < HeapGuard::kMaxWritten) {
      guard.written[guard.writtenCount++] = page;
    } else {
      guard.writtenOverflow = true;
    }
  }
  letFaultThrough(guard, missing ? page | kMissing : page);
}

// Tries the waiting faults again; after the stop a page gets its copy first (the stop
// protected it again, or its fault came after; a missing page waiting since before the
// stop held zeros at it, and may have been protected there). By the helper, which notes a
// page it cannot copy lost and lets its write through all the same, or by a hook, which
// leaves such a page to the helper. Letting a fault through twice does no harm.
void retryWaitingWrites(HeapGuard& guard, bool helper) {
  if (guard.waitingCount.load(std::memory_order_acquire) == 0) return;
  for (auto& slot : guard.waiting) {
    uint64_t fault = slot.load(std::memory_order_acquire);
    if (fault == 0) continue;
    uint64_t page = fault & ~kMissing;
    GuardedMapping* m = mappingOf(guard, page);
    if (m && m->active && guard.copying.load(std::memory_order_relaxed) &&
        !keepBeforeFault(guard, *m, page, fault & kMissing)) {
      if (!helper) continue;
      noteLost(guard, page, page + kPageBytes);
    }
    if (letThrough(guard, fault) == EAGAIN) continue;
    if (slot.compare_exchange_strong(fault, 0, std::memory_order_acq_rel)) {
      guard.waitingCount.fetch_sub(1, std::memory_order_release);
    }
  }
}

// Mappings that must stay in the clone: the tracer's (the child runs on them), the
// loaded objects' (a .bss beyond its file is anonymous), threads' stacks (written all
// the time) and ended threads' cached stacks.
bool excluded(const SnapshotJob& job, const AddressRange& mapping) {
  if (overlapsTracerMemory(mapping.begin, mapping.end)) return true;
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

// What the clone would copy of a mapping: its resident pages (a thread's stack is 8 MiB
// of which a few pages are used), and a page table for each 2 MiB they are in.
struct Residency {
  uint64_t bytes = 0;
  uint64_t pageTables = 0;
  uint64_t cloneCost() const { return bytes + pageTables * kPageTableCostBytes; }
};

Residency residencyOf(const AddressRange& range) {
  unsigned char resident[4096];
  Residency found;
  uint64_t lastTable = UINT64_MAX;
  for (uint64_t at = range.begin; at < range.end;) {
    uint64_t pages = std::min<uint64_t>(sizeof resident, (range.end - at) / kPageBytes);
    if (syscall(SYS_mincore, at, pages * kPageBytes, resident) != 0) break;
    for (uint64_t p = 0; p < pages; ++p) {
      if (!(resident[p] & 1)) continue;
      found.bytes += kPageBytes;
      uint64_t table = (at + p * kPageBytes) / kPageTableSpan;
      found.pageTables += table != lastTable;
      lastTable = table;
    }
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
  // Which pages the program has: without it, no mapping is guarded sparsely.
  int pagemap = static_cast<int>(
      syscall(SYS_openat, AT_FDCWD, "/proc/thread-self/pagemap", O_RDONLY | O_CLOEXEC));
  uint32_t count = 0;
  uint64_t pages = 0;
  uint64_t cloneCost = 0;     // of the mappings chosen
  uint64_t sparseCloned = 0;  // of the sparse mappings left to the clone
  MappingLine previous{};
  forEachProcLine("/proc/thread-self/maps", [&](const char* line) {
    MappingLine m;
    if (!parseMappingLine(line, &m) || count == HeapGuard::kMaxMappings) return;
    bool belowGuardPage = previous.end == m.begin && previous.end - previous.begin == kPageBytes &&
                          strncmp(previous.perms, "---p", 4) == 0 && previous.anonymous();
    previous = m;
    bool mainHeap = strcmp(m.path, "[heap]") == 0;
    if (!m.readable() || !m.writable() || !m.isPrivate() || !(m.anonymous() || mainHeap)) return;
    if (m.end - m.begin < kMinimumBytes || excluded(job, {m.begin, m.end})) return;
    // Mostly never written (memory reserved up front, written here and there): cheap
    // for the clone while its pages are few and close together, which is most often so,
    // and then better left to it: the guard costs the program a fault for each page it
    // touches while the guard is on. --guard-heap guards them all.
    Residency resident = residencyOf({m.begin, m.end});
    bool sparse = resident.bytes < (m.end - m.begin) / kMostlyWrittenShare;
    if (sparse && pagemap < 0) {
      if (automatic) return;
      sparse = false;
    }
    if (automatic && sparse && sparseCloned + resident.cloneCost() <= kAutomaticMinimumBytes) {
      sparseCloned += resident.cloneCost();
      return;
    }
    chosen[count++] = {{m.begin, m.end}, mainHeap, true, false, belowGuardPage, sparse, pages};
    pages += (m.end - m.begin) / kPageBytes;
    cloneCost += resident.cloneCost();
  });
  auto closeFiles = [](std::initializer_list<int> files) {
    for (int fd : files) {
      if (fd >= 0) syscall(SYS_close, fd);
    }
  };
  int uffd =
      count == 0 || (automatic && cloneCost < kAutomaticMinimumBytes) ? -1 : openUserfaultfd();
  int memFd = uffd < 0 ? -1
                       : static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/thread-self/mem",
                                                  O_RDONLY | O_CLOEXEC));
  if (memFd < 0) {
    closeFiles({uffd, pagemap});
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
  size_t groups = wholePages((pages + kPagesPerCopiedGroup - 1) / kPagesPerCopiedGroup);
  size_t bytes = header + table + groups + copyPages * kPageBytes;
  // Raw system calls: the tracer's own mappings are none of the hooks' business.
  void* memory =
      reinterpret_cast<void*>(syscall(SYS_mmap, nullptr, bytes, PROT_READ | PROT_WRITE,
                                      MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (memory == MAP_FAILED) {
    closeFiles({uffd, memFd, pagemap});
    return nullptr;
  }
  auto* guard = new (memory) HeapGuard();
  guard->bytes = bytes;
  guard->uffd = uffd;
  guard->memFd = memFd;
  guard->pagemap = pagemap;
  auto* at = static_cast<unsigned char*>(memory) + header;
  guard->copyOfPage = reinterpret_cast<std::atomic<uint32_t>*>(at);
  guard->copiedGroup = reinterpret_cast<std::atomic<uint8_t>*>(at + table);
  guard->copies = at + table + groups;
  guard->copyCapacity = static_cast<uint32_t>(copyPages);
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t mode = UFFDIO_REGISTER_MODE_WP | (chosen[i].sparse ? UFFDIO_REGISTER_MODE_MISSING : 0);
    uffdio_register reg{
        {chosen[i].range.begin, chosen[i].range.end - chosen[i].range.begin}, mode, 0};
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
  auto protectRange = [&](GuardedMapping& m, uint64_t begin, uint64_t end) {
    while (long error = protect(guard, begin, end - begin, true)) {
      if (error != EAGAIN || monotonicNs() > deadline) {
        m.active = false;
        return false;
      }
      syscall(SYS_sched_yield);
    }
    return true;
  };
  for (uint32_t i = 0; i < guard.mappingCount; ++i) {
    GuardedMapping& m = guard.mappings[i];
    if (!m.active) continue;
    if (!m.sparse) {
      protectRange(m, m.range.begin, m.range.end);
      continue;
    }
    // Only the pages it has: protecting the rest would give it page tables and markers
    // (64 GB reserved with 8,192 pages written: 439 ms, and 128 MB of page tables).
    // The writer's alone (the helper protects no sparse mapping): 32 MiB of the page
    // table at a time, or 2,730 runs.
    static uint64_t entries[8192];
    WrittenRuns runs(m.range.begin, m.range.end, guard.pagemap, entries, 8192);
    for (uint64_t begin, end; runs.next(&begin, &end) && protectRange(m, begin, end);) {
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
    // The events first, then the faults: once read, a discard goes ahead in the kernel,
    // and a fault's page may be among those it takes away (keepBeforeFault).
    long count = n / static_cast<long>(sizeof(uffd_msg));
    for (long i = 0; i < count; ++i) {
      const uffd_msg& msg = messages[i];
      switch (msg.event) {
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
    for (long i = 0; i < count; ++i) {
      const uffd_msg& msg = messages[i];
      if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
      faulted(guard, msg.arg.pagefault.address,
              !(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP));
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
  // A sparse mapping stays guarded as it is: a page discarded is missing again, and its
  // next touch is seen.
  for (uint32_t i = 0; i < guard.discardedCount; ++i) {
    const AddressRange& d = guard.discarded[i];
    forEachActiveIn(guard, d.begin, d.end, [&](GuardedMapping& m, uint64_t from, uint64_t to) {
      if (m.sparse) return;
      if (!m.dontFork || protect(guard, from, to - from, true) != 0) m.active = false;
    });
  }
  if (guard.writtenOverflow) {
    // Too many pages written to know which: all protected again, but for sparse mappings,
    // whose pages would have to be looked up in the pause: the clone copies them.
    for (uint32_t i = 0; i < guard.mappingCount; ++i) {
      if (guard.mappings[i].sparse) guard.mappings[i].active = false;
    }
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

namespace {

// keepForGuardedScan of a sparse mapping: only the pages the program has are read; the
// others held zeros at the stop (else a copy of them was kept when they went), which the
// range kept says, or without room for it (or with a page it could not copy, which must
// stay without one: lost when it goes), each such page. A range the program has every
// page of needs neither (a block freed: its pages' copies say it all), and takes no slot.
// Its own frame: the page table's entries, or the runs PAGEMAP_SCAN finds, take 2 KiB of
// the program's stack (reading 64 entries at a time, a hook took 1 s to keep 64 GB with
// 16,384 pages; 0.64 s with 256; 0.19-0.23 s scanning, most of it copying the pages).
__attribute__((noinline)) void keepSparse(HeapGuard& guard, const GuardedMapping& m, uint64_t from,
                                          uint64_t to) {
  uint64_t entries[kHookEntries];
  PageCopies copies(guard, m);
  uint64_t had = 0;  // bytes of [from, to) in pages the program has
  WrittenRuns runs(from, to, guard.pagemap, entries, kHookEntries);
  for (uint64_t runBegin, runEnd; runs.next(&runBegin, &runEnd);) {
    had += runEnd - runBegin;
    for (uint64_t page = runBegin; page < runEnd; page += kPageBytes) copies.add(page);
  }
  if (had == to - from || (copies.allCopied() && noteKept(guard, from, to))) return;
  WrittenRuns again(from, to, guard.pagemap, entries, kHookEntries);
  uint64_t at = from;
  for (uint64_t runBegin, runEnd; again.next(&runBegin, &runEnd); at = runEnd) {
    for (; at < runBegin; at += kPageBytes) copyPage(guard, m, at, true);
  }
  for (; at < to; at += kPageBytes) copyPage(guard, m, at, true);
}

}  // namespace

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
      if (m.sparse) {
        keepSparse(*guard, m, from, to);
        return;
      }
      PageCopies copies(*guard, m);
      for (uint64_t page = from; page < to; page += kPageBytes) copies.add(page);
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

void readAtStop(HeapGuard& guard, const GuardedMapping& m, uint64_t begin, uint64_t end, bool stale,
                WrittenRuns& programPages, LostMemoryFn lost, void* context) {
  int memFd = guard.memFd;
  constexpr uint64_t kMaxPages = kMaxReadBytes / kPageBytes;
  uint64_t unread[kMaxPages / 64] = {}, read[kMaxPages / 64] = {};
  auto mark = [&](uint64_t* bits, uint64_t page) {
    uint64_t i = (page - begin) / kPageBytes;
    bits[i / 64] |= uint64_t{1} << (i % 64);
  };
  auto marked = [&](const uint64_t* bits, uint64_t page) {
    uint64_t i = (page - begin) / kPageBytes;
    return (bits[i / 64] >> (i % 64) & 1) != 0;
  };
  uint64_t done = begin;  // read, or emptied, below here
  auto readPart = [&](uint64_t from, uint64_t to) {
    if (stale && done < from) syscall(SYS_madvise, done, from - done, MADV_DONTNEED);
    done = to;
    // process_vm_readv copies without a bounce page; /proc/self/mem needs no ptrace right.
    iovec local{reinterpret_cast<void*>(from), to - from};
    iovec remote{reinterpret_cast<void*>(from), to - from};
    long n = syscall(SYS_process_vm_readv, getppid(), &local, 1, &remote, 1, 0);
    if (n < 0) n = syscall(SYS_pread64, memFd, from, to - from, from);
    for (uint64_t page = from; page < to; page += kPageBytes) {
      mark(read, page);
      // Some of it is gone (unmapped since): page by page, to keep what is left.
      if (n != static_cast<long>(to - from) &&
          syscall(SYS_pread64, memFd, page, kPageBytes, page) != kPageBytes) {
        mark(unread, page);
      }
    }
  };
  // Of a sparse mapping, the runs of pages the program has but for ranges kept: a page it
  // has none of had none at the stop, or has its copy (the helper alone gives a sparse
  // mapping pages, and keeps zeros for each after the stop; a hook keeps what goes). A
  // mapping mostly written is read whole: asking the program's page table window by
  // window made a guarded scan of 1 GB a third slower. The entries at hand serve a
  // sparse one: each window's own read of them took about a third of its scan. They may
  // be older than the window's fill, which changes nothing: a page the program had then
  // and lost since has its copy or is lost (as for a page lost before the read), one it
  // got since held zeros at the stop.
  WrittenRuns whole(begin, end, false);
  WrittenRuns& runs = m.sparse ? programPages : whole;
  if (m.sparse) programPages.restart(begin, end);
  for (uint64_t runBegin, runEnd; runs.next(&runBegin, &runEnd);) {
    for (uint64_t at = runBegin; at < runEnd;) {
      AddressRange kept = m.sparse ? firstKept(guard, at, runEnd) : AddressRange{runEnd, runEnd};
      if (at < kept.begin) readPart(at, kept.begin);
      at = std::max(kept.end, kept.begin);
    }
  }
  if (stale && done < end) syscall(SYS_madvise, done, end - done, MADV_DONTNEED);
  // Read before looking for copies: a page the program wrote since was copied before the
  // write could happen, so a page whose copy is not there yet was read unchanged.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  guard.bytesRead.fetch_add(end - begin, std::memory_order_relaxed);
  for (uint64_t page = begin; page < end; page += kPageBytes) {
    auto* at = reinterpret_cast<void*>(page);
    if (uint32_t copy = copyOf(guard, m, page); copy == kZerosAtStop) {
      if (marked(read, page)) syscall(SYS_madvise, at, kPageBytes, MADV_DONTNEED);
    } else if (copy) {
      memcpy(at, guard.copies + uint64_t{copy - 1} * kPageBytes, kPageBytes);
    } else if (marked(unread, page)) {
      lost(context, page, page + kPageBytes);  // gone before anything copied it
    }
  }
}

WrittenRuns programPageRuns(const HeapGuard& guard, uint64_t* entries, uint64_t capacity) {
  return WrittenRuns(0, 0, guard.pagemap, entries, capacity);
}

namespace {

// The first page in [from, to) of `m` in a group of the copy table with a copy, or `to`.
uint64_t firstCopied(const HeapGuard& guard, const GuardedMapping& m, uint64_t from, uint64_t to) {
  for (uint64_t page = from; page < to;) {
    uint64_t index = m.firstPage + (page - m.range.begin) / kPageBytes;
    if (guard.copiedGroup[index / kPagesPerCopiedGroup].load(std::memory_order_seq_cst))
      return page;
    page = (page & ~(kPageBytes - 1)) +
           (kPagesPerCopiedGroup - index % kPagesPerCopiedGroup) * kPageBytes;
  }
  return to;
}

}  // namespace

uint64_t firstPageWithContent(const HeapGuard& guard, const GuardedMapping& m, uint64_t from,
                              uint64_t end, WrittenRuns& programPages) {
  if (!m.sparse) return from;
  // 32 MiB at a time, and no further than the first found: a scan calls this once for each
  // window it fills, and searching on to the end each time made it quadratic (24 s for 8
  // GiB the program unmapped while it ran, its 2,048 pages copied; 1 s for 64 GB).
  constexpr uint64_t kSpan = uint64_t{32} << 20;
  for (uint64_t spanBegin = from, spanEnd; spanBegin < end; spanBegin = spanEnd) {
    spanEnd = std::min(end, (spanBegin & ~(kSpan - 1)) + kSpan);
    // The first page the program has, but for ranges kept (their pages have copies).
    uint64_t first = spanEnd;
    for (uint64_t at = spanBegin; at < spanEnd;) {
      programPages.restart(at, spanEnd);
      uint64_t runBegin, runEnd;
      if (!programPages.next(&runBegin, &runEnd)) break;
      AddressRange kept = firstKept(guard, runBegin, runEnd);
      if (kept.begin > runBegin) {
        first = runBegin;
        break;
      }
      at = kept.end;
    }
    // Copies before it, looked for after the page table, as readAtStop does: a page the
    // program had then may have gone since, copied first.
    if (uint64_t copied = firstCopied(guard, m, spanBegin, first); copied < spanEnd) return copied;
  }
  return end;
}

bool peekAtStop(const HeapGuard& guard, const GuardedMapping& m, uint64_t address, void* out,
                size_t bytes) {
  if (syscall(SYS_pread64, guard.memFd, out, bytes, address) != static_cast<long>(bytes))
    return false;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  uint64_t page = address & ~(kPageBytes - 1);
  if (uint32_t copy = copyOf(guard, m, page); copy == kZerosAtStop) {
    memset(out, 0, bytes);
  } else if (copy) {
    memcpy(out, guard.copies + uint64_t{copy - 1} * kPageBytes + (address - page), bytes);
  }
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
  if (guard.pagemap >= 0) syscall(SYS_close, guard.pagemap);
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
