// Runs of written pages, from /proc/self/pagemap (see populated_pages.h).
#include "populated_pages.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "raw_memory.h"

namespace tidemark::preload {

namespace {

constexpr uint64_t kPresent = uint64_t{1} << 63;
constexpr uint64_t kSwapped = uint64_t{1} << 62;
constexpr uint64_t kEntriesPerRead = 8192;  // 32 MiB of memory per read

int ownPagemap = -2;             // not opened yet
uint64_t* ownEntries = nullptr;  // the entries a WrittenRuns of this process read last

bool openOwnPagemap() {
  if (ownPagemap == -2) {
    ownPagemap =
        static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
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

bool WrittenRuns::next(uint64_t* begin, uint64_t* end) {
  if (at_ >= end_) return false;
  if (!sparse_) {
    *begin = at_;
    *end = end_;
    at_ = end_;
    return true;
  }
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
