// Frees of other threads' blocks: N threads in a ring, each allocating blocks (32-95
// bytes) and freeing those the thread before it handed over through a mailbox, so half
// the frees are of another thread's block (the tracer searches other threads' live-block
// tables for them). Prints "done" at the end.
//   handoff_bench [THREADS] [CALLS PER THREAD]
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

constexpr int kSlots = 1024;

struct Mailbox {
  std::atomic<void*> slot[kSlots];
};

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 32;
  int calls = argc > 2 ? atoi(argv[2]) : 100000;
  if (threads < 1 || calls < 1) return 2;
  std::vector<Mailbox> boxes(threads);
  for (auto& box : boxes) {
    for (auto& slot : box.slot) slot = nullptr;
  }
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      Mailbox& mine = boxes[t];
      Mailbox& next = boxes[(t + 1) % threads];
      for (int i = 0; i < calls; ++i) {
        void* old = next.slot[i % kSlots].exchange(malloc(32 + i % 64));
        free(old);                                            // its own block, not taken yet
        free(mine.slot[(i * 7) % kSlots].exchange(nullptr));  // the thread before's
      }
    });
  }
  for (auto& t : running) t.join();
  for (auto& box : boxes) {
    for (auto& slot : box.slot) free(slot.load());
  }
  puts("done");
  return 0;
}
