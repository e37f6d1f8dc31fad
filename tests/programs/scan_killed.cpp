// Test program: its snapshot's scanning process is killed while it scans, as the kernel's
// out-of-memory killer would kill it. Makes 1M small blocks (a long scan), loses 3 blocks
// of 1,111 bytes, asks for a snapshot and SIGKILLs the scanning child as soon as it
// exists; once it is gone, frees the 1M blocks and exits 0. The exit snapshot, left
// alone, finds the 3 blocks definitely lost. Prints the child's oom_score_adj (which it
// sets before it takes its name) and "killed" when it killed one.
//   test_scan_killed idle: makes the blocks, says "ready" and sleeps 30 s, for snapshots
//   asked for and scanners killed from outside.
#include <signal.h>
#include <tidemark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "scan_child.h"

namespace {

void* volatile sink;
volatile int lostCount = 3;  // not unrolled: one call site, one group

__attribute__((noinline)) void loseBlocks() {
  for (int i = 0; i < lostCount; ++i) sink = malloc(1111);
  sink = nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<void*> many(1'000'000);
  for (auto& p : many) p = malloc(32);
  loseBlocks();
  if (argc > 1 && std::string(argv[1]) == "idle") {
    printf("ready\n");
    fflush(stdout);
    sleep(30);
    return 0;
  }
  tidemark_snapshot();
  pid_t scanner = 0;
  if (!waitFor([&] { return (scanner = scanningChild()) != 0; })) return 3;
  std::ifstream oom("/proc/" + std::to_string(scanner) + "/oom_score_adj");
  std::string adjustment;
  oom >> adjustment;
  printf("scanner's oom_score_adj %s\n", adjustment.c_str());
  kill(scanner, SIGKILL);
  printf("killed\n");
  fflush(stdout);
  if (!waitFor([] { return !scanning(); })) return 4;
  for (void* p : many) free(p);
  return 0;
}
