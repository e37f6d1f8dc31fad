// THREADS threads, each holding one block of 64 bytes, wait on a condition variable for
// 0.4 s, then free their blocks and end: what a snapshot's pause costs per thread it
// stops (tidemark record --snapshot-every 100ms takes three or four meanwhile).
//   blocked_threads [THREADS]   (2,000 by default)
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  int count = argc > 1 ? atoi(argv[1]) : 2'000;
  std::mutex m;
  std::condition_variable cv;
  bool go = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&] {
      void* block = malloc(64);
      asm volatile("" : : "r"(block) : "memory");  // kept: the compiler may not drop the pair
      std::unique_lock<std::mutex> lock(m);
      cv.wait(lock, [&] { return go; });
      free(block);
    });
  }
  usleep(400'000);
  {
    std::lock_guard<std::mutex> lock(m);
    go = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
  printf("blocked_threads: %d threads\n", count);
  return 0;
}
