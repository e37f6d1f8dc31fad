// Test program for include/tidemark.h: marks the timeline, leaks one block (lostFirst,
// 64 bytes), asks for a snapshot, leaks another (lostSecond, 128 bytes), asks again, and
// exits 0. Untraced, the calls do nothing.
#include <tidemark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace {
__attribute__((noinline)) void lostFirst() {
  void* p = calloc(1, 64);
  asm volatile("" : : "r"(p) : "memory");
}
__attribute__((noinline)) void lostSecond() {
  void* p = calloc(1, 128);
  asm volatile("" : : "r"(p) : "memory");
}
}  // namespace

int main() {
  tidemark_mark("start");
  lostFirst();
  tidemark_snapshot();
  usleep(1'000'000);  // the tracer's thread takes it meanwhile
  tidemark_mark("second leak");
  lostSecond();
  tidemark_snapshot();
  usleep(300'000);
  printf("api_user: done\n");
  return 0;
}
