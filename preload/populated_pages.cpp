// Runs of written pages, from /proc/self/pagemap (see populated_pages.h).
#include "populated_pages.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "raw_memory.h"

namespace tidemark::preload {

namespace {

constexpr uint64_t kPresent = uint64_t{1} << 63;
constexpr uint64_t kSwapped = uint64_t{1} << 62;
constexpr uint64_t kEntriesPerRead = 8192;  // 32 MiB of memory per read

// PAGEMAP_SCAN's argument and flags (linux/fs.h of Linux 6.7; Debian 12's headers predate
// it). The scan returns maximal regions of pages in the categories asked for.
struct PagemapScanArg {
  uint64_t size;
  uint64_t flags;
  uint64_t start;
  uint64_t end;
  uint64_t walkEnd;  // where the scan stopped: the regions cover [start, walkEnd)
  uint64_t vec;
  uint64_t vecLength;
  uint64_t maxPages;
  uint64_t categoryInverted;
  uint64_t categoryMask;
  uint64_t categoryAnyOfMask;
  uint64_t returnMask;
};
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PagemapScanArg);
constexpr uint64_t kPageIsPresent = 1 << 3;
constexpr uint64_t kPageIsSwapped = 1 << 4;

// Until a kernel without it says so (ENOTTY); a refusal for any other reason falls back
// for that search only.
std::atomic<bool> usePagemapScan{true};

int ownPagemap = -2;             // not opened yet
uint64_t* ownEntries = nullptr;  // the entries a WrittenRuns of this process read last

bool openOwnPagemap() {
  if (ownPagemap == -2) {
    ownPagemap = static_cast<int>(
        syscall(SYS_openat, AT_FDCWD, "/proc/thread-self/pagemap", O_RDONLY | O_CLOEXEC));
    if (ownPagemap >= 0) ownEntries = static_cast<uint64_t*>(mapChildMemory(kEntriesPerRead * 8));
  }
  return ownPagemap >= 0;
}

}  // namespace

bool pageWritten(int pagemap, uint64_t page) {
  uint64_t entry = 0;
  return syscall(SYS_pread64, pagemap, &entry, sizeof entry, page / kPageBytes * 8) ==
             sizeof entry &&
         (entry & (kPresent | kSwapped)) != 0;
}

void findRunsWithPagemapScan(bool use) { usePagemapScan.store(use, std::memory_order_relaxed); }

WrittenRuns::WrittenRuns(uint64_t begin, uint64_t end, bool sparse)
    : at_(begin), end_(end), sparse_(sparse && openOwnPagemap()) {
  if (!sparse_) return;
  pagemap_ = ownPagemap;
  entries_ = ownEntries;
  capacity_ = kEntriesPerRead;
}

bool WrittenRuns::entryOf(uint64_t page, uint64_t* entry) {
  if (page < readFrom_ || page >= readFrom_ + readCount_ * kPageBytes) {
    uint64_t pages = std::min(capacity_, (end_ - page + kPageBytes - 1) / kPageBytes);
    long got = syscall(SYS_pread64, pagemap_, entries_, pages * 8, page / kPageBytes * 8);
    scanFrom_ = scanTo_ = 0;  // the same memory holds entries or regions
    readCount_ = got == static_cast<long>(pages * 8) ? pages : 0;
    readFrom_ = page;
    if (readCount_ == 0) return false;
  }
  *entry = entries_[(page - readFrom_) / kPageBytes];
  return true;
}

uint64_t WrittenRuns::firstPage(uint64_t from, bool written) {
  for (uint64_t page = from; page < end_; page += kPageBytes) {
    uint64_t entry;
    if (!entryOf(page, &entry)) {
      sparse_ = false;  // read the rest whole
      return written ? page : end_;
    }
    if (static_cast<bool>(entry & (kPresent | kSwapped)) == written) return page;
  }
  return end_;
}

const WrittenRuns::Region* WrittenRuns::regionAfter(uint64_t address, bool* refused) {
  auto* regions = reinterpret_cast<const Region*>(entries_);
  uint64_t scanEnd = (end_ + kPageBytes - 1) & ~(kPageBytes - 1);
  for (;;) {
    if (address < scanFrom_ || address >= scanTo_) {
      uint64_t capacity = capacity_ * sizeof(uint64_t) / sizeof(Region);
      if (capacity == 0 || !usePagemapScan.load(std::memory_order_relaxed)) {
        *refused = true;
        return nullptr;
      }
      PagemapScanArg arg{};
      arg.size = sizeof arg;
      arg.start = address & ~(kPageBytes - 1);
      arg.end = scanEnd;
      arg.vec = reinterpret_cast<uint64_t>(entries_);
      arg.vecLength = capacity;
      arg.categoryAnyOfMask = kPageIsPresent | kPageIsSwapped;
      arg.returnMask = kPageIsPresent | kPageIsSwapped;
      long n = syscall(SYS_ioctl, pagemap_, kPagemapScan, &arg);
      readCount_ = 0;  // the same memory holds entries or regions
      if (n < 0 || arg.walkEnd <= address) {
        if (n < 0 && errno == ENOTTY) usePagemapScan.store(false, std::memory_order_relaxed);
        scanFrom_ = scanTo_ = 0;
        *refused = true;
        return nullptr;
      }
      scanFrom_ = arg.start;
      scanTo_ = arg.walkEnd;
      regionCount_ = static_cast<uint64_t>(n);
    }
    for (uint64_t i = 0; i < regionCount_; ++i) {
      if (regions[i].end > address) return &regions[i];
    }
    if (scanTo_ >= scanEnd) return nullptr;
    address = scanTo_;  // the scan stopped with its buffer full: on from there
  }
}

bool WrittenRuns::nextScanned(uint64_t* begin, uint64_t* end, bool* found) {
  bool refused = false;
  const Region* region = regionAfter(at_, &refused);
  if (refused) return false;
  *found = region && region->start < end_;
  if (!*found) {
    at_ = end_;
    return true;
  }
  uint64_t runBegin = std::max(region->start, at_), runEnd = region->end;
  // Regions that touch (pages present, then swapped out) are one run, across scans too.
  while (runEnd < end_) {
    const Region* after = regionAfter(runEnd, &refused);
    if (!after || after->start != runEnd) break;
    runEnd = after->end;
  }
  *begin = runBegin;
  *end = std::min(runEnd, end_);
  at_ = *end;
  return true;
}

bool WrittenRuns::next(uint64_t* begin, uint64_t* end) {
  if (at_ >= end_) return false;
  if (!sparse_) {
    *begin = at_;
    *end = end_;
    at_ = end_;
    return true;
  }
  if (bool found; nextScanned(begin, end, &found)) return found;
  uint64_t first = std::max(firstPage(at_ & ~(kPageBytes - 1), true), at_);
  if (first >= end_) {
    at_ = end_;
    return false;
  }
  *begin = first;
  *end = sparse_ ? std::min(firstPage(first & ~(kPageBytes - 1), false), end_) : end_;
  at_ = *end;
  return true;
}

}  // namespace tidemark::preload
