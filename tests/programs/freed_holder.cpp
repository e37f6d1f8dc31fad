// Test program: the only pointer to a block of 40 bytes is in a block of 64 that is then
// freed, and glibc hands that memory out again, uninitialized, for the next block of 64,
// which stays live. memcheck calls the 40 bytes definitely lost (it ignores words never
// written since their allocation); the scan reads the stale word unless the tracer
// zeroed the freed block. Exits 0.
#include <cstdio>
#include <cstdlib>

namespace {

void* volatile kept;
void* volatile sink;

__attribute__((noinline)) void loseThroughFreedHolder() {
  auto** holder = static_cast<void**>(malloc(64));
  sink = malloc(40);
  holder[3] = sink;  // past the two words glibc writes into a freed chunk
  sink = nullptr;
  asm volatile("" : : "r"(holder) : "memory");
  free(holder);
  kept = malloc(64);  // the same chunk, from the thread's cache
  printf("%s\n", kept == holder ? "reused" : "not reused");
}

}  // namespace

int main() {
  loseThroughFreedHolder();
  return 0;
}
