// Test program: memory of its own it cannot read, which the snapshot's scan reads too.
// Maps 4 pages of a file (private, writable) and keeps the only pointer to a block of
// 3,000 bytes in the first, then cuts the file to one page: the other three fault with
// SIGBUS. Maps 4 anonymous pages, keeps the only pointer to a block of 2,000 bytes in the
// first, and makes the third a guard region (MADV_GUARD_INSTALL, Linux 6.13): it faults
// with SIGSEGV. Loses 2 blocks of 1,234 bytes and exits 0: the exit snapshot reads it all.
//   test_unreadable_pages FILE [in-block]: FILE is the file to map; with in-block, the
//   guard region is a page inside a live block of 64 KiB (which the program keeps), so
//   the scan cannot see that block's pointers: the snapshot is incomplete.
// Prints "guard region made" when the kernel made it (before 6.13 it refuses).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

namespace {

constexpr size_t kPage = 4096;
void* volatile sink;
volatile int lostCount = 2;  // not unrolled: one call site, one group

__attribute__((noinline)) void loseBlocks() {
  for (int i = 0; i < lostCount; ++i) sink = malloc(1234);
  sink = nullptr;
}

// Keeps the only pointer to a new block of `bytes` in the first page of `pages`.
__attribute__((noinline)) void keepBlockIn(char* pages, size_t bytes) {
  *reinterpret_cast<void**>(pages) = malloc(bytes);
}

char* mapFileCutShort(const char* path) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 4 * kPage) != 0) return nullptr;
  void* pages = mmap(nullptr, 4 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (pages == MAP_FAILED) return nullptr;
  keepBlockIn(static_cast<char*>(pages), 3000);
  if (ftruncate(fd, kPage) != 0) return nullptr;
  close(fd);
  return static_cast<char*>(pages);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !mapFileCutShort(argv[1])) return 2;
  bool inBlock = argc > 2 && std::string(argv[2]) == "in-block";
  char* guarded;
  if (inBlock) {
    static void* volatile big;
    big = malloc(64 * 1024);
    guarded = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(big) + 2 * kPage) &
                                      ~uintptr_t{kPage - 1});
  } else {
    auto* pages = static_cast<char*>(
        mmap(nullptr, 4 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (pages == MAP_FAILED) return 2;
    keepBlockIn(pages, 2000);
    guarded = pages + 2 * kPage;
  }
  if (madvise(guarded, kPage, MADV_GUARD_INSTALL) == 0) printf("guard region made\n");
  loseBlocks();
  return 0;
}
