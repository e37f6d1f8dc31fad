// Test program for include/tidemark.h: marks the timeline, leaks one block (lostFirst,
// 64 bytes), asks for a snapshot, leaks another (lostSecond, 128 bytes), asks again, and
// exits 0. Untraced, the calls do nothing. After each leak the stack below main and the
// scratch registers are overwritten, so no stale copy of the dropped pointer makes the
// block look reachable to a conservative scan (whenever the snapshot stops the thread).
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
// Overwrites the stack where the leaking calls had their frames, and with it leaves
// nothing of theirs in the caller-saved registers.
__attribute__((noinline)) void scrub() {
  volatile char area[16384];
  for (size_t i = 0; i < sizeof area; ++i) area[i] = 0;
}
}  // namespace

int main() {
  tidemark_mark("start");
  lostFirst();
  scrub();
  tidemark_snapshot();
  usleep(1'000'000);  // the tracer's thread takes it meanwhile
  tidemark_mark("second leak");
  lostSecond();
  scrub();
  tidemark_snapshot();
  usleep(300'000);
  printf("api_user: done\n");
  return 0;
}
