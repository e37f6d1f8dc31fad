// Test program: the ways a traced process ends or misbehaves. Each mode leaks exactly one
// block of 4321 bytes in leakOne() first.
//   abort      abort()                         → killed by SIGABRT
//   fast-exit  _exit(7)
//   thread-exit exit(9) from a second thread
//   spin       allocates and frees forever (the test kills it with SIGKILL)
//   throw      throws and catches 10000 C++ exceptions, exit 0 (exceptions must still
//              unwind through libgcc_s with the tracer loaded)
//   signal     allocates inside a signal handler 1000 times, exit 0
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

__attribute__((noinline)) void* leakOne() { return malloc(4321); }

namespace {
volatile sig_atomic_t handled = 0;
void onSignal(int) {
  void* p = malloc(64);
  asm volatile("" : : "r"(p) : "memory");
  free(p);
  handled = handled + 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string mode = argv[1];
  leakOne();
  if (mode == "abort") abort();
  if (mode == "fast-exit") _exit(7);
  if (mode == "thread-exit") {
    std::thread([] { exit(9); }).join();
  }
  if (mode == "spin") {
    printf("spinning\n");
    fflush(stdout);
    for (unsigned long i = 0;; ++i) {
      void* p = malloc(i % 500 + 1);
      asm volatile("" : : "r"(p) : "memory");  // keeps the compiler from eliding the pair
      free(p);
      if (i % 100000 == 0) usleep(1000);
    }
  }
  if (mode == "throw") {
    int caught = 0;
    for (int i = 0; i < 10000; ++i) {
      try {
        throw std::runtime_error("expected " + std::to_string(i));
      } catch (const std::runtime_error&) {
        ++caught;
      }
    }
    return caught == 10000 ? 0 : 1;
  }
  if (mode == "signal") {
    signal(SIGUSR1, onSignal);
    for (int i = 0; i < 1000; ++i) {
      void* p = malloc(100);
      raise(SIGUSR1);
      free(p);
    }
    return handled == 1000 ? 0 : 1;
  }
  return 3;
}
