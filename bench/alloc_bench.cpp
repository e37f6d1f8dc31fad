// Allocation-heavy benchmark for tracer overhead: 2 threads make `--ops` allocation calls
// in total (each later freed), from ~1000 distinct call stacks of depth 5-40, half through
// malloc and half through operator new. Sizes follow a power law (Pareto, 16 B to 64 KiB)
// unless --fixed SIZE is given. Each "request" picks a stack and allocates 8 blocks there,
// as a server's handler does; live blocks cycle through a window of 4096 per thread.
//
//   alloc_bench [--ops N] [--fixed SIZE] [--threads T]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace {

constexpr int kFunctions = 8;
constexpr int kPaths = 1000;
constexpr int kWindow = 4096;
constexpr int kPerRequest = 8;

struct Path {
  std::vector<uint8_t> steps;  // which function each frame is
};

struct Worker {
  std::vector<Path>* paths;
  uint64_t requests;
  size_t fixedSize;
  uint64_t seed;
  std::vector<void*> window = std::vector<void*>(kWindow, nullptr);
  std::vector<bool> viaNew = std::vector<bool>(kWindow, false);
  size_t next = 0;
  std::mt19937_64 rng;
  uint64_t checksum = 0;

  size_t size() {
    if (fixedSize) return fixedSize;
    double u = std::uniform_real_distribution<double>(1e-9, 1.0)(rng);
    double s = 16.0 * std::pow(u, -1.0 / 1.1);  // Pareto, alpha 1.1
    return s > 65536 ? 65536 : static_cast<size_t>(s);
  }

  void allocateHere() {
    for (int i = 0; i < kPerRequest; ++i) {
      size_t slot = next++ % kWindow;
      if (window[slot]) {
        if (viaNew[slot]) {
          delete[] static_cast<char*>(window[slot]);
        } else {
          free(window[slot]);
        }
      }
      size_t n = size();
      bool useNew = (next & 1) != 0;
      char* p = useNew ? new char[n] : static_cast<char*>(malloc(n));
      p[0] = static_cast<char>(n);
      checksum += static_cast<unsigned char>(p[0]);
      window[slot] = p;
      viaNew[slot] = useNew;
    }
  }

  void drain() {
    for (size_t slot = 0; slot < kWindow; ++slot) {
      if (!window[slot]) continue;
      if (viaNew[slot]) {
        delete[] static_cast<char*>(window[slot]);
      } else {
        free(window[slot]);
      }
    }
  }
};

void step(Worker& w, const Path& path, size_t depth);

// Eight distinct functions, so a path's return addresses name its shape.
#define BENCH_FRAME(n)                                                          \
  __attribute__((noinline)) void frame##n(Worker& w, const Path& p, size_t d) { \
    step(w, p, d + 1);                                                          \
    asm volatile("");                                                           \
  }
BENCH_FRAME(0)
BENCH_FRAME(1)
BENCH_FRAME(2)
BENCH_FRAME(3)
BENCH_FRAME(4)
BENCH_FRAME(5)
BENCH_FRAME(6)
BENCH_FRAME(7)

using Frame = void (*)(Worker&, const Path&, size_t);
const Frame kFrames[kFunctions] = {frame0, frame1, frame2, frame3, frame4, frame5, frame6, frame7};

void step(Worker& w, const Path& path, size_t depth) {
  if (depth == path.steps.size()) {
    w.allocateHere();
    return;
  }
  kFrames[path.steps[depth]](w, path, depth);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t ops = 5'000'000;
  size_t fixedSize = 0;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--ops")) ops = strtoull(argv[i + 1], nullptr, 10);
    if (!strcmp(argv[i], "--fixed")) fixedSize = strtoull(argv[i + 1], nullptr, 10);
    if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
  }
  std::mt19937_64 rng(42);
  std::vector<Path> paths(kPaths);
  for (auto& path : paths) {
    path.steps.resize(5 + rng() % 36);
    for (auto& s : path.steps) s = static_cast<uint8_t>(rng() % kFunctions);
  }
  std::vector<Worker> workers(threads);
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    Worker& w = workers[t];
    w.paths = &paths;
    w.requests = ops / threads / kPerRequest;
    w.fixedSize = fixedSize;
    w.rng.seed(1000 + t);
    running.emplace_back([&w] {
      std::mt19937_64 pick(w.rng());
      for (uint64_t r = 0; r < w.requests; ++r) {
        // Zipf-like popularity: a few handlers take most requests.
        size_t index = static_cast<size_t>(std::pow(pick() % 1000000 / 1e6, 3.0) * kPaths);
        step(w, (*w.paths)[index], 0);
      }
      w.drain();
    });
  }
  uint64_t checksum = 0;
  for (size_t t = 0; t < running.size(); ++t) {
    running[t].join();
    checksum += workers[t].checksum;
  }
  printf("alloc_bench: %llu allocation calls, checksum %llu\n",
         static_cast<unsigned long long>(workers.size() * workers[0].requests * kPerRequest),
         static_cast<unsigned long long>(checksum));
  return 0;
}
