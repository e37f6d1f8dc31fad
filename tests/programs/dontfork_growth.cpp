// Test program: for 1.5 s, maps a 16 KiB region marked MADV_DONTFORK every 0.3 ms (as V8
// grows its heap) and puts a fresh 32-byte block in each, referenced from nowhere else. Every
// block stays reachable, so every snapshot must find nothing lost, however many regions
// appeared between the tracer's listing of DONTFORK mappings and its stop.
#include <sys/mman.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>

namespace {

double nowS() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void* keptInNewRegion() { return calloc(1, 32); }

}  // namespace

int main() {
  constexpr size_t kRegion = 16384;
  size_t regions = 0;
  double end = nowS() + 1.5;
  while (nowS() < end && regions < 5000) {
    void* region =
        mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) break;
    madvise(region, kRegion, MADV_DONTFORK);
    *static_cast<void**>(region) = keptInNewRegion();
    ++regions;
    timespec pause{0, 300'000};
    nanosleep(&pause, nullptr);
  }
  printf("dontfork_growth: %zu regions\n", regions);
  return 0;
}
