// A thread per job, as a server that starts one per request: THREADS threads in groups of
// 4 at a time, each allocating one block of 48 bytes it never frees. The tracer's writer
// describes every new thread (its name, its stack's mapping): tidemark's cost per thread.
//   thread_churn [THREADS]   (20,000 by default)
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

__attribute__((noinline)) void leakOne() {
  void* p = malloc(48);
  asm volatile("" : : "r"(p) : "memory");
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 20'000;
  for (int started = 0; started < threads; started += 4) {
    std::vector<std::thread> group;
    for (int k = 0; k < 4; ++k) group.emplace_back(leakOne);
    for (auto& t : group) t.join();
  }
  printf("thread_churn: %d threads\n", threads);
  return 0;
}
