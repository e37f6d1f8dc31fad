// Test program: a worker thread allocates 200,000 blocks of 48 bytes and hands each to the
// main thread, which frees it at once (a loop thread freeing what its pool made). The
// free lands in the main thread's ring and the allocation in the worker's; the writer
// drains them one after the other, so a free often reaches the trace before its
// allocation. Nothing the worker allocates is left at exit.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

std::atomic<void*> slot{nullptr};
std::atomic<bool> done{false};

__attribute__((noinline)) void* makeJob() { return malloc(48); }

}  // namespace

int main() {
  void* first = malloc(1);  // the main thread takes the first ring, drained first
  std::thread worker([] {
    for (int i = 0; i < 200'000; ++i) {
      void* job = makeJob();
      void* empty = nullptr;
      while (!slot.compare_exchange_weak(empty, job)) {
        empty = nullptr;
        std::this_thread::yield();  // on a busy machine the main thread needs the core
      }
    }
    done = true;
  });
  long freed = 0;
  while (!done || slot.load()) {
    if (void* job = slot.exchange(nullptr)) {
      free(job);
      ++freed;
    } else {
      std::this_thread::yield();
    }
  }
  worker.join();
  free(first);
  printf("handoff: freed %ld\n", freed);
  return 0;
}
