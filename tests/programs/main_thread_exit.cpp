// Test program: the main thread leaves by pthread_exit while a second thread works on;
// the process ends when that thread returns (glibc then calls exit(0) in it).
//   main_thread_exit
// Leaks 4,321 bytes in 1 block on the main thread (leakOnMain) and 1,234 in 1 on the
// second (leakOnWorker); a block of 777 bytes kept in a global (keepForExit) is freed by
// an atexit handler, which runs after both threads are gone. The second thread prints
// "worker done" and returns 0.1 s after the main thread left.
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace {

void* kept;

__attribute__((noinline)) void leakOnMain() {
  void* p = malloc(4321);
  asm volatile("" : : "r"(p) : "memory");
}

__attribute__((noinline)) void leakOnWorker() {
  void* p = malloc(1234);
  asm volatile("" : : "r"(p) : "memory");
}

__attribute__((noinline)) void keepForExit() { kept = malloc(777); }

void freeKept() { free(kept); }

void* work(void*) {
  usleep(100'000);
  leakOnWorker();
  puts("worker done");
  fflush(stdout);
  return nullptr;
}

}  // namespace

int main() {
  keepForExit();
  atexit(freeKept);
  leakOnMain();
  pthread_t worker;
  if (pthread_create(&worker, nullptr, work, nullptr) != 0) return 1;
  pthread_exit(nullptr);
}
