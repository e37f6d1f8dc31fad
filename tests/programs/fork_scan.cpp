// Test program: forks while guarded snapshots scan its heap. Builds about 100 MB of
// chained blocks (bench/chained_heap.h: 120 of 12,045 dropped), marks "built", then forks
// COUNT children, one every 100 ms or so. Each child frees the first 1,000 blocks of its
// copy of the chain (its frees are its own business, not the parent's scan's) and leaves
// with _exit(0); a child stuck on the parent's guard would never be reaped. Prints
// "children=N exited0=M".
//   fork_scan COUNT
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "../../bench/chained_heap.h"
#include "tidemark.h"

ChainedBlock* head;  // a root: every block but the dropped ones is reachable

int main(int argc, char** argv) {
  int count = argc > 1 ? atoi(argv[1]) : 8;
  head = buildChainedHeap(100).head;
  tidemark_mark("built");
  int children = 0, exited0 = 0;
  while (children < count) {
    pid_t child = fork();
    if (child == 0) {
      ChainedBlock* b = head;
      for (int i = 0; i < 1000 && b; ++i) {
        ChainedBlock* previous = b->previous;
        free(b);
        b = previous;
      }
      _exit(0);
    }
    if (child < 0) break;
    ++children;
    int status = 0;
    if (waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      ++exited0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  printf("children=%d exited0=%d\n", children, exited0);
  return children > 0 && exited0 == children ? 0 : 1;
}
