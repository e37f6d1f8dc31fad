// Test program: two threads allocate blocks and free each other's (every free searches
// and locks the other thread's live-block table) while the main thread forks 200 times;
// each child frees blocks the parent's threads allocated and allocates some of its own,
// then exits 0. A child that inherited a table locked by a thread that does not exist in
// it would wait for that lock forever. Prints how many children exited 0.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

// Each thread's arena then spans about 900 KiB (untraced, three runs), well over the 256
// KiB a mapping needs to be guarded; with 4,096 slots it spanned 272 KiB, and in 2 of 25
// runs of the e2e test none of the --guard-heap snapshots was guarded.
constexpr int kSlots = 16384;
std::atomic<void*> shared[kSlots];
std::atomic<bool> stop{false};

void churn(unsigned seed) {
  while (!stop.load(std::memory_order_relaxed)) {
    seed = seed * 1103515245 + 12345;
    int i = static_cast<int>(seed >> 8) % kSlots;
    // Take whatever the other thread left there (a remote free), leave a new block.
    free(shared[i].exchange(malloc(16 + seed % 64)));
  }
}

}  // namespace

int main() {
  std::thread a(churn, 1), b(churn, 2);
  int ok = 0;
  for (int round = 0; round < 200; ++round) {
    pid_t child = fork();
    if (child == 0) {
      for (int i = 0; i < kSlots; i += 97) free(shared[i].exchange(nullptr));
      for (int i = 0; i < 100; ++i) free(malloc(32));
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  stop = true;
  a.join();
  b.join();
  printf("fork_churn: %d of 200 children exited 0\n", ok);
  return ok == 200 ? 0 : 1;
}
