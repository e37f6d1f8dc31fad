// Test program: pointers in memory that is mostly never written, which the scan passes
// over page by page (preload/populated_pages.h). Reserves 8 GiB read-write and keeps the
// only pointer to a block of 3,333 bytes in one word in its middle; callocs a block of
// 256 MiB (glibc maps it, zeroed, and never writes it) and keeps the only pointer to a
// block of 4,444 bytes 200 MiB into it; loses a block of 555 bytes. Exits 0: the exit
// snapshot finds the 555 bytes definitely lost, the rest reachable.
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>

namespace {

constexpr size_t kReserved = size_t{8} << 30;
constexpr size_t kBig = size_t{256} << 20;
void* volatile* volatile big;  // a root; volatile: the stores are what is tested
void* volatile sink;

__attribute__((noinline)) void loseBlock() { sink = malloc(555); }

}  // namespace

int main() {
  auto* reserved = static_cast<char*>(mmap(nullptr, kReserved, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (reserved == MAP_FAILED) return 2;
  *reinterpret_cast<void* volatile*>(reserved + kReserved / 2 + 1000 * 8) = malloc(3333);
  big = static_cast<void* volatile*>(calloc(1, kBig));
  if (!big) return 2;
  big[(size_t{200} << 20) / sizeof(void*) + 5] = malloc(4444);
  loseBlock();
  sink = nullptr;
  printf("kept\n");
  return 0;
}
