// Test program: a worker thread allocates 200,000 blocks of 48 bytes and hands each to the
// main thread, which frees it at once (a loop thread freeing what its pool made). The
// free lands in the main thread's ring and the allocation in the worker's; the writer
// drains them one after the other, so a free often reaches the trace before its
// allocation. Nothing the worker allocates is left at exit. After every 100th free the
// main thread allocates a block of the same size and keeps it (keepOne): the allocator
// hands it the address just freed, in the same tick of the tracer's clock, so one address
// has the worker's allocation on one ring, the main thread's free and allocation on the
// other, read in either order. 2,000 kept blocks are left at exit, none of makeJob's.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

std::atomic<void*> slot{nullptr};
std::atomic<bool> done{false};

__attribute__((noinline)) void* makeJob() { return malloc(48); }
__attribute__((noinline)) void* keepOne() { return malloc(48); }

void* kept[2'000];

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
      if (++freed % 100 == 0) kept[freed / 100 - 1] = keepOne();
    } else {
      std::this_thread::yield();
    }
  }
  worker.join();
  free(first);
  printf("handoff: freed %ld, kept %p\n", freed, kept[0]);
  return 0;
}
