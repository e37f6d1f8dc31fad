// Test program: memory reserved up front and written in scattered pages, guarded sparsely
// (preload/heap_guard.h) by default: 8 GiB reserved read-write with one page written every
// 4 MiB, 2,048 page tables for a clone to copy. Makes 1M small blocks (the scanning child
// indexes them before it reads any root), puts the only pointers to blocks in some of
// those pages, asks for a snapshot (tidemark.h) and, once its scan runs, changes them:
//   keptZeroed     1,111 bytes: its pointer is zeroed (a write to a protected page);
//   lostDiscarded  2,222 bytes: its page was discarded before the snapshot;
//   keptDiscarded  3,333 bytes: its page is discarded (madvise; the tracer keeps a copy);
//   lostMissing    4,444 bytes: hidden until then, written into a page never touched;
//   lostWritten    5,555 bytes: hidden until then, written into a page written before;
//   keptUnmapped   6,666 bytes: its part of the reservation is unmapped (the tracer keeps
//                  a copy of the pages the program has there);
//   lostRemapped   7,777 bytes: hidden until then, written into fresh memory the program
//                  maps where that part was, in a page it had not touched before (in
//                  the window of one it had);
//   keptUnmapped2, lostRemapped2  8,888 and 9,999 bytes: the same once the tracer has no
//                  room left to note such parts (256) after as many discards, each of a
//                  page it had and the one after, which it had not.
// The snapshot must see the pages as they were at the stop: lostDiscarded, lostMissing,
// lostWritten, lostRemapped and lostRemapped2 definitely lost (29,997 bytes in 5 blocks);
// at exit keptZeroed, lostDiscarded, keptDiscarded, keptUnmapped and keptUnmapped2 (22,220
// bytes in 5 blocks).
// Prints whether the reservation was registered for missing pages and write protection
// while scanned ("registered missing+wp", from its VmFlags in /proc/self/smaps), and
// "changed while scanned" when the changes were made before the scan ended.
#include <sys/mman.h>
#include <tidemark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "scan_child.h"

namespace {

constexpr size_t kReserved = size_t{8} << 30;
constexpr size_t kStride = size_t{4} << 20;
constexpr size_t kPage = 4096;
constexpr size_t kMany = 1'000'000;
constexpr uintptr_t kMask = 0x5a5a5a5a5a5a5a5a;

char* reserved;
// Blocks' addresses XORed: no pointer to them.
uintptr_t hiddenMissing, hiddenWritten, hiddenRemapped, hiddenRemapped2;

void** wordAt(size_t offset) { return reinterpret_cast<void**>(reserved + offset); }
size_t writtenPage(size_t i) { return i * kStride; }

__attribute__((noinline)) void placeBlocks() {
  *wordAt(writtenPage(100) + 8) = malloc(1111);  // keptZeroed
  *wordAt(writtenPage(200) + 8) = malloc(2222);  // lostDiscarded
  *wordAt(writtenPage(300) + 8) = malloc(3333);  // keptDiscarded
  hiddenMissing = reinterpret_cast<uintptr_t>(malloc(4444)) ^ kMask;
  hiddenWritten = reinterpret_cast<uintptr_t>(malloc(5555)) ^ kMask;
  *wordAt(writtenPage(650) + 8) = malloc(6666);  // keptUnmapped
  hiddenRemapped = reinterpret_cast<uintptr_t>(malloc(7777)) ^ kMask;
  *wordAt(writtenPage(1650) + 8) = malloc(8888);  // keptUnmapped2
  hiddenRemapped2 = reinterpret_cast<uintptr_t>(malloc(9999)) ^ kMask;
}

// Unmaps the 100 strides from `first` on, maps fresh memory there and writes the hidden
// pointer beside a page the program had, in the window the scan fills for its copy.
bool remapPart(size_t first, uintptr_t hidden) {
  char* part = reserved + writtenPage(first);
  size_t bytes = writtenPage(100);
  if (munmap(part, bytes) != 0) return false;
  void* fresh = mmap(part, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (fresh != part) return false;
  *wordAt(writtenPage(first + 20) + 16 * kPage) = reinterpret_cast<void*>(hidden ^ kMask);
  return true;
}

__attribute__((noinline)) void scrub() {
  volatile char area[16384];
  for (size_t i = 0; i < sizeof area; ++i) area[i] = 0;
}

__attribute__((noinline)) bool changePages() {
  *wordAt(writtenPage(100) + 8) = nullptr;
  madvise(reserved + writtenPage(300), kPage, MADV_DONTNEED);
  *wordAt(writtenPage(400) + kStride / 2) = reinterpret_cast<void*>(hiddenMissing ^ kMask);
  *wordAt(writtenPage(500) + 16) = reinterpret_cast<void*>(hiddenWritten ^ kMask);
  if (!remapPart(600, hiddenRemapped)) return false;
  for (size_t i = 1000; i < 1256; ++i) madvise(reserved + writtenPage(i), 2 * kPage, MADV_DONTNEED);
  return remapPart(1600, hiddenRemapped2);
}

// The VmFlags line of the mapping that starts at `begin`, from /proc/self/smaps.
std::string vmFlagsOf(const void* begin) {
  std::ifstream smaps("/proc/self/smaps");
  std::ostringstream start;
  start << std::hex << reinterpret_cast<uintptr_t>(begin) << '-';
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    if (line.find('-') != std::string::npos && line.find(' ') > line.find('-')) {
      inside = line.rfind(start.str(), 0) == 0;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line + ' ';
    }
  }
  return "";
}

}  // namespace

int main() {
  std::vector<void*> many(kMany);
  for (auto& p : many) p = malloc(32);
  reserved = static_cast<char*>(mmap(nullptr, kReserved, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (reserved == MAP_FAILED || madvise(reserved, kReserved, MADV_NOHUGEPAGE) != 0) return 2;
  for (size_t i = 0; i < kReserved / kStride; ++i) reserved[writtenPage(i)] = 1;
  placeBlocks();
  madvise(reserved + writtenPage(200), kPage, MADV_DONTNEED);
  scrub();
  tidemark_snapshot();
  if (!waitFor(scanning)) return 3;
  std::string flags = vmFlagsOf(reserved);
  if (!changePages()) return 5;
  bool changedWhileScanned = scanning();
  if (flags.find(" um ") != std::string::npos && flags.find(" uw ") != std::string::npos) {
    printf("sparse_guard: registered missing+wp\n");
  }
  if (changedWhileScanned) printf("sparse_guard: changed while scanned\n");
  if (!waitFor([] { return !scanning(); })) return 4;
  for (void* p : many) free(p);
  return 0;
}
