// Test program: a daemon that changes its directory to /, closes every descriptor it did
// not open, then opens a file of its own, which gets the lowest number. Writes 1,000
// numbered lines into FILE (absolute) while it allocates, loses 2 blocks of 777 bytes, and
// exits 0.
//   test_fd_closer close FILE    closes 3 and up (close_range)
//   test_fd_closer replace FILE  makes every number from 3 to 1023 its file (dup2), the
//                                trace's too: writes there would land in FILE
//   test_fd_closer stderr FILE   makes FILE its stderr (dup2 onto 2), then makes 3,000,000
//                                allocations of mixed sizes (a trace of tens of MB)
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

void* volatile sink;
volatile int lostCount = 2;  // not unrolled: one call site, one group

__attribute__((noinline)) void loseBlocks() {
  for (int i = 0; i < lostCount; ++i) sink = malloc(777);
  sink = nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  std::string mode = argv[1];
  if (chdir("/") != 0) return 2;
  if (mode == "close") syscall(SYS_close_range, 3, ~0U, 0);
  int file = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (file < 0) return 2;
  if (mode == "replace") {
    for (int fd = 3; fd < 1024; ++fd) {
      if (fd != file) dup2(file, fd);
    }
  }
  if (mode == "stderr") {
    dup2(file, STDERR_FILENO);
    static void* held[1024];
    for (unsigned i = 0; i < 3'000'000; ++i) {
      free(held[i % 1024]);
      held[i % 1024] = malloc(16 + (i * 7919u) % 4000);
    }
  }
  for (int i = 0; i < 1000; ++i) {
    sink = malloc(64 + i);
    free(sink);
    dprintf(file, "line %d\n", i);
  }
  loseBlocks();
  return 0;
}
