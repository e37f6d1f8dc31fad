// Test program: 16 threads that allocate now and then, as a server's pool does: each makes
// 80,000 malloc/free pairs of 48 bytes in `allocateQuietly`, 400 at a time with a 5 ms
// sleep between (some 0.45 MiB of events per thread, written slowly).
// Then it keeps its last block of each thread (16 blocks, 768 bytes, not freed) and prints
// its peak resident memory ("peak rss KB N", from VmHWM), which the tracer's rings must not
// have grown by every page their threads wrote.
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kThreads = 16;
constexpr int kPairs = 80000;
constexpr int kPerBurst = 400;

__attribute__((noinline)) void* allocateQuietly() { return malloc(48); }

void* lastBlocks[kThreads];

}  // namespace

int main() {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kPairs; ++i) {
        void* block = allocateQuietly();
        asm volatile("" : : "r"(block) : "memory");
        if (i == kPairs - 1) {
          lastBlocks[t] = block;  // kept: it tells the trace's count of this site apart
        } else {
          free(block);
        }
        if (i % kPerBurst == kPerBurst - 1) usleep(5000);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) printf("peak rss KB %ld\n", std::stol(line.substr(6)));
  }
  return 0;
}
