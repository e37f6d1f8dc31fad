// Test program: writes to guarded memory while other memory is being discarded, during a
// guarded snapshot's scan. While a discard (madvise) of registered memory waits for the
// tracer's helper to read its event, and until the thread that made it goes on, the
// kernel refuses to lift a page's write protection; a write the helper then did not let
// through later waited for the rest of the scan. Makes 2M small blocks (a long scan), a
// region one thread discards page by page and a region another writes page by page, asks
// for a snapshot, and once its scan runs does both until the scan is over (at most 20 s).
// Prints the longest single write ("longest write N ms") and how many writes it made.
#include <sys/mman.h>
#include <tidemark.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "scan_child.h"

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kDiscardedBytes = size_t{4} << 20;
constexpr size_t kWrittenBytes = size_t{1} << 30;  // reserved: one write per page
constexpr size_t kMany = 2'000'000;

unsigned char* anonymous(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<unsigned char*>(p);
}

}  // namespace

int main() {
  std::vector<void*> many(kMany);
  for (auto& p : many) p = malloc(32);
  unsigned char* discarded = anonymous(kDiscardedBytes);
  unsigned char* written = anonymous(kWrittenBytes);
  if (!discarded || !written) return 2;
  memset(discarded, 1, kDiscardedBytes);
  tidemark_snapshot();
  if (!waitFor(scanning)) return 3;
  std::atomic<bool> over{false};
  std::thread discarder([&] {
    for (size_t i = 0; !over.load(std::memory_order_relaxed); ++i) {
      unsigned char* page = discarded + (i % (kDiscardedBytes / kPage)) * kPage;
      page[0] = 1;
      madvise(page, kPage, MADV_DONTNEED);
    }
  });
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + std::chrono::seconds(20);
  Clock::duration longest{};
  size_t writes = 0;
  for (; writes < kWrittenBytes / kPage; ++writes) {
    if (writes % 64 == 0 && (!scanning() || Clock::now() > deadline)) break;
    auto before = Clock::now();
    written[writes * kPage] = 1;
    longest = std::max(longest, Clock::now() - before);
  }
  over = true;
  discarder.join();
  printf("longest write %lld ms, %zu writes\n",
         static_cast<long long>(
             std::chrono::duration_cast<std::chrono::milliseconds>(longest).count()),
         writes);
  fflush(stdout);
  waitFor([] { return !scanning(); });
  for (void* p : many) free(p);
  return 0;
}
