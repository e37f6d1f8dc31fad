// How long fork() takes to return in the child with N live blocks: under the tracer the
// child's trace starts by listing the heap it inherited.
//   fork_inherit N      (run it untraced and under tidemark record, and compare)
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {
double nowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
}  // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  std::vector<void*> blocks;
  blocks.reserve(static_cast<size_t>(n));
  for (long i = 0; i < n; ++i) blocks.push_back(malloc(32));
  double start = nowMs();
  pid_t child = fork();
  if (child == 0) {
    printf("fork returned in the child after %.1f ms with %ld blocks\n", nowMs() - start, n);
    fflush(stdout);
    _exit(0);
  }
  waitpid(child, nullptr, 0);
  return 0;
}
