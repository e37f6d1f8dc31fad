// Test program: memory in the shape of V8's heap. Maps 320 separate 256 KiB regions (80
// MiB, over the 64 MiB from which snapshots are guarded by default), marks each
// MADV_DONTFORK, fills it, and keeps in it the only pointer to a 48-byte block; 7 blocks
// of 100 bytes were dropped before (lost). Asks for a snapshot (tidemark.h) and gives it a second,
// then decommits 40 regions the way V8 does, unreadable first and then discarded
// (mprotect PROT_NONE, madvise MADV_DONTNEED), frees the blocks they pointed at, and
// forks: the child checks that it has none of the 280 regions left (the snapshot kept
// their DONTFORK mark) and prints "marks kept".
#include <sys/mman.h>
#include <sys/wait.h>
#include <tidemark.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr size_t kRegions = 320;
constexpr size_t kDecommitted = 40;
constexpr size_t kRegionBytes = 256 * 1024;
constexpr int kLost = 7;

__attribute__((noinline)) void dropBlocks() {
  for (int i = 0; i < kLost; ++i) {
    void* p = malloc(100);
    asm volatile("" : : "r"(p) : "memory");
  }
}

// Overwrites the stack where dropBlocks had its frame: no stale copy of a dropped pointer.
__attribute__((noinline)) void scrub() {
  volatile char area[16384];
  for (size_t i = 0; i < sizeof area; ++i) area[i] = 0;
}

bool mapped(void* region) {
  // msync fails with ENOMEM on memory that is not mapped.
  return msync(region, kRegionBytes, MS_ASYNC) == 0 || errno != ENOMEM;
}

}  // namespace

int main() {
  // Dropped first: the block next to glibc's top chunk is pointed into by the arena.
  dropBlocks();
  scrub();
  static void** regions[kRegions];
  for (auto& region : regions) {
    void* at =
        mmap(nullptr, kRegionBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (at == MAP_FAILED || madvise(at, kRegionBytes, MADV_DONTFORK) != 0) return 2;
    memset(at, 0x5a, kRegionBytes);
    region = static_cast<void**>(at);
    region[100] = malloc(48);
  }
  tidemark_snapshot();
  sleep(1);  // the tracer's thread takes it meanwhile
  for (size_t i = 0; i < kDecommitted; ++i) {
    void* block = regions[i][100];
    mprotect(regions[i], kRegionBytes, PROT_NONE);
    madvise(regions[i], kRegionBytes, MADV_DONTNEED);
    free(block);
  }
  pid_t child = fork();
  if (child == 0) {
    size_t inherited = 0;
    for (size_t i = kDecommitted; i < kRegions; ++i) inherited += mapped(regions[i]);
    if (inherited != 0) printf("dontfork_pages: the child has %zu of the regions\n", inherited);
    _exit(inherited == 0 ? 0 : 1);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child || status != 0) return 1;
  printf("dontfork_pages: marks kept\n");
  return 0;
}
