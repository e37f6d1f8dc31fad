// What the kernel itself charges to freeze or watch the heap snapshot_bench builds
// (SIZE_MB of malloc blocks, bench/chained_heap.h) on 4 KiB pages, untraced: the floor
// under any snapshot pause built on it.
//   fork             the copy-on-write child tidemark scans (page tables are copied)
//   uffd-wp          write-protecting the range with userfaultfd, the base of any
//                    copy-on-write done in user space instead of by fork
//   soft-dirty       whether this kernel tracks written pages (/proc/PID/clear_refs),
//                    which a mostly-concurrent mark would need, and what clearing costs
//   wp-async         the other way to track them (Linux 6.7): userfaultfd write-protection
//                    the kernel resolves by itself, and PAGEMAP_SCAN, which lists the pages
//                    written since and protects them again in one pass. Protecting all is
//                    done while the program runs; "written N%" is the collection that a
//                    stop would do after the program wrote N% of the pages
// Each time is the median of five, in ms and ms per GB.
//   page_table_floor SIZE_MB [BLOCK_BYTES]
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "chained_heap.h"

namespace {

constexpr size_t kPage = 4096;

// PAGEMAP_SCAN and asynchronous write-protection, from Linux 6.7's uapi headers (Debian
// 12's predate them).
constexpr uint64_t kPageIsWritten = 1 << 1;
struct PageRegion {
  uint64_t start, end, categories;
};
struct PageScan {
  uint64_t size, flags, start, end, walkEnd, vec, vecLength, maxPages, categoryInverted,
      categoryMask, categoryAnyOfMask, returnMask;
};
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PageScan);
constexpr uint64_t kScanWriteProtectMatching = 1 << 0, kScanCheckWriteProtectAsync = 1 << 1;
constexpr uint64_t kFeatureWriteProtectUnpopulated = 1 << 13, kFeatureWriteProtectAsync = 1 << 15;

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// The median of five runs of `step`, each timed by itself.
double medianMs(const std::function<double()>& step) {
  std::vector<double> times;
  for (int i = 0; i < 5; ++i) times.push_back(step());
  std::sort(times.begin(), times.end());
  return times[2];
}

void print(const char* what, double ms, double gb) {
  printf("%-12s %10.2f ms %10.2f ms/GB\n", what, ms, ms / gb);
}

// Writes every page, as a running program does between snapshots: a fork write-protects
// the pages it shares, and a page still write-protected from the last fork is cheaper to
// copy again.
void writeEveryPage(char* heap, size_t bytes) {
  for (size_t offset = 0; offset < bytes; offset += kPage) {
    auto* word = reinterpret_cast<volatile char*>(heap + offset);
    *word = *word;
  }
}

// Until fork returns in the parent: the child's exit and teardown are not part of it.
void measureFork(char* heap, size_t bytes, double gb) {
  print("fork", medianMs([&] {
          writeEveryPage(heap, bytes);
          auto start = std::chrono::steady_clock::now();
          pid_t child = fork();
          if (child == 0) _exit(0);
          double ms = msSince(start);
          waitpid(child, nullptr, 0);
          return ms;
        }),
        gb);
}

void measureUffdWriteProtect(char* heap, size_t bytes, double gb) {
  int uffd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  uffdio_api api{UFFD_API, UFFD_FEATURE_PAGEFAULT_FLAG_WP, 0};
  uffdio_register range{{reinterpret_cast<uint64_t>(heap), bytes}, UFFDIO_REGISTER_MODE_WP, 0};
  if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) != 0 || ioctl(uffd, UFFDIO_REGISTER, &range) != 0) {
    printf("%-12s unavailable (%s)\n", "uffd-wp", strerror(errno));
    return;
  }
  auto protect = [&](uint64_t mode) {
    uffdio_writeprotect wp{{reinterpret_cast<uint64_t>(heap), bytes}, mode};
    if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) != 0) perror("UFFDIO_WRITEPROTECT");
  };
  print("uffd-wp", medianMs([&] {
          auto start = std::chrono::steady_clock::now();
          protect(UFFDIO_WRITEPROTECT_MODE_WP);
          double ms = msSince(start);
          protect(0);
          return ms;
        }),
        gb);
  close(uffd);
}

// Registers the heap for asynchronous write-protection, then times PAGEMAP_SCAN passes
// that list the written pages and protect them again.
void measureWrittenPageScan(char* heap, size_t bytes, double gb) {
  int uffd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  uffdio_api api{UFFD_API, kFeatureWriteProtectAsync | kFeatureWriteProtectUnpopulated, 0};
  uffdio_register range{{reinterpret_cast<uint64_t>(heap), bytes}, UFFDIO_REGISTER_MODE_WP, 0};
  int pagemap = open("/proc/self/pagemap", O_RDONLY);
  if (uffd < 0 || pagemap < 0 || ioctl(uffd, UFFDIO_API, &api) != 0 ||
      ioctl(uffd, UFFDIO_REGISTER, &range) != 0) {
    printf("%-12s unavailable (%s)\n", "wp-async", strerror(errno));
    return;
  }
  std::vector<PageRegion> regions(1 << 16);
  auto scan = [&] {
    PageScan arg{sizeof arg,
                 kScanWriteProtectMatching | kScanCheckWriteProtectAsync,
                 reinterpret_cast<uint64_t>(heap),
                 reinterpret_cast<uint64_t>(heap) + bytes,
                 0,
                 reinterpret_cast<uint64_t>(regions.data()),
                 regions.size(),
                 0,
                 0,
                 kPageIsWritten,
                 0,
                 kPageIsWritten};
    auto start = std::chrono::steady_clock::now();
    if (ioctl(pagemap, kPagemapScan, &arg) < 0) perror("PAGEMAP_SCAN");
    return msSince(start);
  };
  print("wp-async", medianMs([&] {
          uffdio_writeprotect none{{reinterpret_cast<uint64_t>(heap), bytes}, 0};
          ioctl(uffd, UFFDIO_WRITEPROTECT, &none);  // every page counts as written again
          return scan();
        }),
        gb);
  size_t pages = bytes / kPage;
  double faultMs = 0;  // the program's side: its first write to each protected page
  for (size_t percent : {0, 1, 10}) {
    char label[16];
    snprintf(label, sizeof label, "written %zu%%", percent);
    print(label, medianMs([&] {
            auto start = std::chrono::steady_clock::now();
            for (size_t page = 0; page < pages * percent / 100; ++page) {
              heap[(page * 7919 % pages) * kPage] ^= 1;  // spread over the heap
            }
            faultMs = msSince(start);
            return scan();
          }),
          gb);
  }
  printf("%-12s %10.2f us per page written (10%%, last run)\n", "first write",
         faultMs * 1000 / (pages / 10));
  close(pagemap);
  close(uffd);
}

// Clears the soft-dirty bits, writes one page, and reads its pagemap entry (bit 55).
void measureSoftDirty(char* heap, double gb) {
  int clearRefs = open("/proc/self/clear_refs", O_WRONLY);
  int pagemap = open("/proc/self/pagemap", O_RDONLY);
  uint64_t entry = 0;
  double ms = medianMs([&] {
    auto start = std::chrono::steady_clock::now();
    if (write(clearRefs, "4", 1) != 1) perror("clear_refs");
    return msSince(start);
  });
  heap[0] = 2;
  if (pread(pagemap, &entry, sizeof entry, reinterpret_cast<uintptr_t>(heap) / kPage * 8) !=
      sizeof entry)
    perror("pagemap");
  if ((entry >> 55) & 1)
    print("soft-dirty", ms, gb);
  else
    printf("%-12s not tracked by this kernel (CONFIG_MEM_SOFT_DIRTY)\n", "soft-dirty");
  close(clearRefs);
  close(pagemap);
}

}  // namespace

// The main arena's heap, where blocks of this size go: [begin, end).
bool findHeapMapping(char*& begin, size_t& bytes) {
  FILE* maps = fopen("/proc/self/maps", "r");
  if (!maps) return false;
  char line[512];
  unsigned long from = 0, to = 0;
  bool found = false;
  while (!found && fgets(line, sizeof line, maps)) {
    found = strstr(line, "[heap]") && sscanf(line, "%lx-%lx", &from, &to) == 2;
  }
  fclose(maps);
  begin = reinterpret_cast<char*>(from);
  bytes = to - from;
  return found;
}

int main(int argc, char** argv) {
  prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);  // the 4 KiB case, whatever the THP setting
  ChainedHeap chain = buildChainedHeap(argc > 1 ? strtoull(argv[1], nullptr, 10) : 1024,
                                       argc > 2 ? strtoull(argv[2], nullptr, 10) : 0);
  char* heap = nullptr;
  size_t bytes = 0;
  if (!findHeapMapping(heap, bytes)) {
    fprintf(stderr, "page_table_floor: no [heap] mapping\n");
    return 1;
  }
  double gb = static_cast<double>(chain.bytes) / (1 << 30);
  measureFork(heap, bytes, gb);
  measureUffdWriteProtect(heap, bytes, gb);
  measureSoftDirty(heap, gb);
  measureWrittenPageScan(heap, bytes, gb);
  return 0;
}
