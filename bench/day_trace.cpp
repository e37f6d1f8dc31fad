// Writes a synthetic trace of a day-long run, for the viewer benchmark: a process sample
// every 100 ms for 24 hours (864,000 of them) and, between samples, 8 allocations from 50
// call stacks with frees that let the heap grow slowly — through the real encoder, so the
// bytes are what the tracer would write for such a run. Stacks are not symbolizable.
//   day_trace OUT.tmk [HOURS]
#include <cstdio>
#include <cstdlib>
#include <deque>

#include "trace_builder.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: day_trace OUT.tmk [HOURS]\n");
    return 2;
  }
  double hours = argc > 2 ? atof(argv[2]) : 24;
  auto samples = static_cast<uint64_t>(hours * 36'000);
  constexpr uint32_t kStacks = 50;
  tidemark::test::TraceBuilder b;
  b.attach(0, 1).time(0, 1);
  for (uint32_t s = 1; s <= kStacks; ++s) b.stack(0, s, {0x401000u + s * 16, 0x402000});
  std::deque<uint64_t> live;
  uint64_t next = 0x10000000;
  for (uint64_t i = 0; i < samples; ++i) {
    uint64_t t = i * 100'000;
    b.time(0, t + 1);
    for (uint32_t k = 0; k < 8; ++k) {
      uint32_t stack = 1 + (i * 8 + k) % kStacks;
      b.alloc(0, next, 64 + stack, stack);
      live.push_back(next);
      next += 256;
    }
    while (live.size() > 1000 + i / 100) {
      b.free(0, live.front());
      live.pop_front();
    }
    b.flushBatch(0).sample(t + 50'000, (64 << 20) + live.size() * 128);
    if (i % 1000 == 999) b.chunk();
  }
  b.trailer(samples * 100'000);
  b.save(argv[1]);
  printf("%llu samples, %llu allocations\n", static_cast<unsigned long long>(samples),
         static_cast<unsigned long long>(samples * 8));
  return 0;
}
