// Test program: the cached stack of a thread that ended without allocating (so no ring of
// the tracer's names it as a stack), given back to the kernel by glibc itself while a
// guarded snapshot's scan runs. glibc keeps up to 40 MiB of ended threads' stacks and
// unmaps the oldest when more come back. Makes 1M small blocks (a long scan), runs and
// joins a thread that only notes where its stack is (8 MiB), asks for a snapshot, and
// once its scan runs, runs three threads with 16 MiB stacks (too big to reuse the cached
// one) at once and joins them: glibc's cache goes over and it unmaps the first stack.
// Prints "stack unmapped while scanned" when that order came; exits 0.
#include <pthread.h>
#include <tidemark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "scan_child.h"

namespace {

constexpr size_t kMany = 1'000'000;
uintptr_t firstStack;  // an address in the first thread's stack
pthread_barrier_t together;

void* noteStack(void*) {
  int local = 0;
  firstStack = reinterpret_cast<uintptr_t>(&local);
  return nullptr;
}

void* meet(void*) {
  pthread_barrier_wait(&together);
  return nullptr;
}

// Runs `count` threads with `stackBytes` stacks, all alive at once, and joins them.
void runThreads(int count, size_t stackBytes, void* (*body)(void*)) {
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, stackBytes);
  pthread_t threads[8];
  for (int i = 0; i < count; ++i) pthread_create(&threads[i], &attributes, body, nullptr);
  for (int i = 0; i < count; ++i) pthread_join(threads[i], nullptr);
  pthread_attr_destroy(&attributes);
}

bool mapped(uintptr_t address) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    std::istringstream fields(line);
    uintptr_t begin = 0, end = 0;
    char dash;
    fields >> std::hex >> begin >> dash >> end;
    if (begin <= address && address < end) return true;
  }
  return false;
}

}  // namespace

int main() {
  std::vector<void*> many(kMany);
  for (auto& p : many) p = malloc(32);
  runThreads(1, size_t{8} << 20, noteStack);
  tidemark_snapshot();
  if (!waitFor(scanning)) return 3;
  pthread_barrier_init(&together, nullptr, 3);
  runThreads(3, size_t{16} << 20, meet);
  bool unmappedWhileScanned = !mapped(firstStack) && scanning();
  printf("stack %s\n", unmappedWhileScanned ? "unmapped while scanned" : "missed");
  fflush(stdout);
  waitFor([] { return !scanning(); });
  for (void* p : many) free(p);
  return 0;
}
