// Test program: one thread hands blocks to another, which moves each with realloc while
// the first goes on allocating blocks of the same size. glibc may give a moved block's
// old address to the first thread before realloc returns (the mover's cache for that
// size is full, so the old block goes back to its arena's bins): the tracer must end the
// old block there, not the first thread's new one at the same address.
//   realloc_handoff
// Keeps 100,000 blocks of 100 bytes (keepOne) in a global array, then drops them all:
// definitely lost, 10,000,000 bytes in 100,000 blocks. Every handed-off block (handOff)
// is moved and freed. Prints "done" and returns 0.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

constexpr int kBlocks = 100'000;
constexpr int kSlots = 1024;
std::atomic<void*> handed[kSlots];
void* kept[kBlocks];

__attribute__((noinline)) void* handOff() {
  void* p = malloc(100);
  asm volatile("" : : "r"(p) : "memory");  // no tail call: this frame names the block
  return p;
}

__attribute__((noinline)) void* keepOne() {
  void* p = malloc(100);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}

}  // namespace

int main() {
  std::thread mover([] {
    for (int i = 0; i < kBlocks; ++i) {
      void* p;
      while (!(p = handed[i % kSlots].exchange(nullptr))) {
      }
      free(realloc(p, 4000));
    }
  });
  for (int i = 0; i < kBlocks; ++i) {
    void* p = handOff();
    while (handed[i % kSlots].load()) {
    }
    handed[i % kSlots].store(p);
    kept[i] = keepOne();
  }
  mover.join();
  for (auto& k : kept) k = nullptr;
  asm volatile("" : : "r"(kept) : "memory");
  puts("done");
  return 0;
}
