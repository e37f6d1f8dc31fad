// preload/populated_pages: the runs of a private anonymous range that were ever written,
// from the page table; the rest reads as zeros and is passed over by the scan.
#include "../../preload/populated_pages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <utility>
#include <vector>

using tidemark::preload::findRunsWithPagemapScan;
using tidemark::preload::pageWritten;
using tidemark::preload::WrittenRuns;

namespace {

constexpr uint64_t kPage = 4096;

// PAGEMAP_SCAN off for one test, on again after it, as the tracer has it.
struct ScanChoice {
  explicit ScanChoice(bool scan) { findRunsWithPagemapScan(scan); }
  ~ScanChoice() { findRunsWithPagemapScan(true); }
};

std::vector<std::pair<uint64_t, uint64_t>> runsOf(uint64_t begin, uint64_t end, bool sparse) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  WrittenRuns runs(begin, end, sparse);
  for (uint64_t b, e; runs.next(&b, &e);) out.emplace_back(b, e);
  return out;
}

}  // namespace

TEST_CASE("the runs of written pages, the range's ends kept, across the page table's reads") {
  // By the kernel's PAGEMAP_SCAN where it has one, and from the page table's entries.
  bool scan = GENERATE(true, false);
  INFO("PAGEMAP_SCAN " << scan);
  ScanChoice choice(scan);
  // 40 MiB: more than one read of the page table (32 MiB of pages per read).
  constexpr uint64_t kBytes = uint64_t{40} << 20;
  auto* memory = static_cast<char*>(mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  REQUIRE(memory != MAP_FAILED);
  // 4 KiB pages: a huge page would make one write populate 512 of them.
  REQUIRE(madvise(memory, kBytes, MADV_NOHUGEPAGE) == 0);
  auto page = [&](uint64_t i) { return reinterpret_cast<uint64_t>(memory) + i * kPage; };
  for (uint64_t i : {0, 3, 10, 11, 12}) memory[i * kPage] = 1;
  // A run across the boundary of the first read.
  uint64_t boundary = (uint64_t{32} << 20) / kPage;
  for (uint64_t i = boundary - 2; i < boundary + 2; ++i) memory[i * kPage] = 1;
  memory[kBytes - 1] = 1;  // the last page

  uint64_t begin = page(0) + 100, end = page(kBytes / kPage) - 100;
  std::vector<std::pair<uint64_t, uint64_t>> expected{{begin, page(1)},
                                                      {page(3), page(4)},
                                                      {page(10), page(13)},
                                                      {page(boundary - 2), page(boundary + 2)},
                                                      {page(kBytes / kPage - 1), end}};
  CHECK(runsOf(begin, end, true) == expected);
  // Not sparse: the whole range, as given.
  CHECK(runsOf(begin, end, false) == std::vector<std::pair<uint64_t, uint64_t>>{{begin, end}});
  // Nothing written in it: no run.
  CHECK(runsOf(page(20), page(30), true).empty());
  munmap(memory, kBytes);
}

TEST_CASE("the runs written in memory read through a pagemap file, a few entries at a time") {
  // The heap guard reads the program's page table through a file it opened, into a small
  // buffer (a hook's, on the program's stack), and goes on from range to range.
  bool scan = GENERATE(true, false);
  INFO("PAGEMAP_SCAN " << scan);
  ScanChoice choice(scan);
  constexpr uint64_t kPages = 64;
  auto* memory = static_cast<char*>(mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  REQUIRE(memory != MAP_FAILED);
  REQUIRE(madvise(memory, kPages * kPage, MADV_NOHUGEPAGE) == 0);
  auto page = [&](uint64_t i) { return reinterpret_cast<uint64_t>(memory) + i * kPage; };
  for (uint64_t i : {2, 3, 4, 5, 6, 40}) memory[i * kPage] = 1;
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  REQUIRE(pagemap >= 0);
  uint64_t entries[3];  // fewer than a run: the run goes on across reads (one region each)
  WrittenRuns runs(page(0), page(kPages), pagemap, entries, 3);
  std::vector<std::pair<uint64_t, uint64_t>> found;
  for (uint64_t b, e; runs.next(&b, &e);) found.emplace_back(b, e);
  CHECK(found ==
        std::vector<std::pair<uint64_t, uint64_t>>{{page(2), page(7)}, {page(40), page(41)}});
  // Restarted on a later range: its runs, from the entries at hand or read afresh.
  runs.restart(page(4), page(41));
  found.clear();
  for (uint64_t b, e; runs.next(&b, &e);) found.emplace_back(b, e);
  CHECK(found ==
        std::vector<std::pair<uint64_t, uint64_t>>{{page(4), page(7)}, {page(40), page(41)}});
  CHECK(pageWritten(pagemap, page(2)));
  CHECK_FALSE(pageWritten(pagemap, page(7)));
  CHECK_FALSE(pageWritten(-1, page(2)));  // unreadable: not written
  close(pagemap);
  munmap(memory, kPages * kPage);
}
