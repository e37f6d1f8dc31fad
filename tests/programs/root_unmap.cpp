// Test program: memory the program takes away while a guarded snapshot's scan has not
// read it yet. Makes 2M small blocks (the scanning child writes their records before it
// reads any root: time for a test to stop it there), then a 4 MiB mapping of its own
// holding the only pointer to a block, prints "ready", and unmaps that mapping when the
// file DIR/unmap appears ("unmapped"); exits when DIR/exit appears. With "raw", unmaps
// by the system call itself, out of the tracer's sight; with "discard", empties the
// mapping with madvise(MADV_DONTNEED) instead; with "sealed", makes it unreadable
// (PROT_NONE) first, then unmaps it.
//   root_unmap DIR [raw|discard|sealed]
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

void waitForFile(const std::string& path) {
  while (access(path.c_str(), F_OK) != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

__attribute__((noinline)) void* keptByRegion() { return calloc(1, 1000); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string dir = argv[1];
  std::string how = argc > 2 ? argv[2] : "";
  std::vector<void*> many(2'000'000);
  for (auto& p : many) p = malloc(16);
  constexpr size_t kRegion = size_t{4} << 20;
  auto* region = static_cast<void**>(
      mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (region == MAP_FAILED) return 2;
  memset(region, 0, kRegion);
  region[1000] = keptByRegion();
  printf("ready\n");
  fflush(stdout);
  waitForFile(dir + "/unmap");
  if (how == "raw") {
    syscall(SYS_munmap, region, kRegion);
  } else if (how == "discard") {
    madvise(region, kRegion, MADV_DONTNEED);
  } else if (how == "sealed") {
    mprotect(region, kRegion, PROT_NONE);
    munmap(region, kRegion);
  } else {
    munmap(region, kRegion);
  }
  printf("unmapped\n");
  fflush(stdout);
  waitForFile(dir + "/exit");
  for (void* p : many) free(p);
  return 0;
}
