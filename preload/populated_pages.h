// Which pages of the scanning child's private anonymous memory were ever written: the
// others read as zeros, and a program may reserve gigabytes read-write that it never
// touches (an arena of its own, a big calloc'd block). Scanning each such page faulted
// in the zero page for it: 18-49 s per snapshot for an untouched 16 GiB reservation. The
// kernel's page table says which pages hold anything (/proc/self/pagemap: present, or
// swapped out); runs without are passed over. Raw system calls only (the child, the heap
// guard's helper and the hooks may call nothing that locks). Not for memory that may hold
// what its process never wrote: a file's or a shared mapping's pages come from elsewhere.
#pragma once

#include <cstdint>

namespace tidemark::preload {

// Whether page `page` (page-aligned) was ever written, by a pagemap file; false when it
// cannot be read.
bool pageWritten(int pagemap, uint64_t page);

// Runs are found with the kernel's PAGEMAP_SCAN (Linux 6.7), which passes over page tables
// that hold nothing, where it works; else from the page table's entries, 8 bytes a page
// (64 GB reserved: 12 ms against 58 ms to read them, before looking at any). Tests turn it
// off to try the entries.
void findRunsWithPagemapScan(bool use);

// The runs of [begin, end) to read, one at a time (a loop with one call site keeps the
// scan's inner loop inlined): all of it as one run, or with `sparse`, the runs of pages
// ever written (page-aligned inside, the ends as given; all of it when the page table
// cannot be read).
class WrittenRuns {
 public:
  WrittenRuns(uint64_t begin, uint64_t end, bool sparse);
  // The runs written in another process's memory (the heap guard's: the program's, from a
  // pagemap file it opened), read into `entries`, room for `capacity` pages' entries.
  WrittenRuns(uint64_t begin, uint64_t end, int pagemap, uint64_t* entries, uint64_t capacity)
      : at_(begin),
        end_(end),
        sparse_(pagemap >= 0),
        pagemap_(pagemap),
        entries_(entries),
        capacity_(capacity) {}
  WrittenRuns() = default;
  bool next(uint64_t* begin, uint64_t* end);
  // Goes on to the runs of [begin, end), keeping the entries at hand: only for another
  // process's memory (its pages may have changed since they were read, which the caller
  // allows for), where reading ahead once serves many ranges.
  void restart(uint64_t begin, uint64_t end) {
    at_ = begin;
    end_ = end;
    sparse_ = pagemap_ >= 0;
  }

 private:
  struct Region {  // the kernel's struct page_region
    uint64_t start;
    uint64_t end;
    uint64_t categories;
  };

  // With PAGEMAP_SCAN: the next run at or after at_, found in the regions at hand or
  // scanned afresh; false when the scan is refused (the entries serve then).
  bool nextScanned(uint64_t* begin, uint64_t* end, bool* found);
  // The first region ending after `address`, scanning from there when none at hand ends
  // after it; nullptr when no page at or after it (before end_) is written, or on refusal.
  const Region* regionAfter(uint64_t address, bool* refused);
  // The first page at or after `from` (page-aligned) that is written (or not), or end_.
  uint64_t firstPage(uint64_t from, bool written);
  // The page table's entry of `page`, read with those after it when not at hand (read
  // afresh for each range: the child's own fills populate pages); false when unreadable.
  bool entryOf(uint64_t page, uint64_t* entry);

  uint64_t at_ = 0;
  uint64_t end_ = 0;
  bool sparse_ = false;
  int pagemap_ = -1;
  uint64_t* entries_ = nullptr;
  uint64_t capacity_ = 0;
  uint64_t readFrom_ = 0;  // the entries at hand: for the pages from here on
  uint64_t readCount_ = 0;
  // The regions at hand (in entries_'s memory): all written pages of [scanFrom_, scanTo_).
  uint64_t scanFrom_ = 0;
  uint64_t scanTo_ = 0;
  uint64_t regionCount_ = 0;
};

}  // namespace tidemark::preload
