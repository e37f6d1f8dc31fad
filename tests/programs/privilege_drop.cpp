// Test program: gives up root for an unprivileged user (nobody, 65534) once it runs, as
// servers do. The kernel then makes it non-dumpable: no process of that user may ptrace
// it, the snapshot's helper included, unless it is made dumpable again.
//   privilege_drop
// Must run as root: prints "not root" and exits 0 otherwise. Leaks 4,321 bytes in 1
// block before the drop (leakBefore) and 1,234 bytes in 1 after it (leakAfter), while a
// second thread waits in read(); asks for a snapshot (tidemark_snapshot()), prints
// "dropped, dumpable N" (PR_GET_DUMPABLE 1 s later, once it was taken) and exits 0.
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "tidemark.h"

namespace {

__attribute__((noinline)) void leakBefore() {
  void* p = malloc(4321);
  asm volatile("" : : "r"(p) : "memory");
}

__attribute__((noinline)) void leakAfter() {
  void* p = malloc(1234);
  asm volatile("" : : "r"(p) : "memory");
}

}  // namespace

int main() {
  if (geteuid() != 0) {
    puts("not root");
    return 0;
  }
  int blocker[2];
  if (pipe(blocker) != 0) return 1;
  std::thread([&] {
    char c;
    while (read(blocker[0], &c, 1) != 0) {
    }
  }).detach();
  leakBefore();
  if (setgid(65534) != 0 || setuid(65534) != 0) {
    perror("privilege_drop: setuid");
    return 1;
  }
  leakAfter();
  tidemark_snapshot();
  sleep(1);  // the tracer's thread takes it soon (a few ms): then look
  printf("dropped, dumpable %d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
  fflush(stdout);
  return 0;
}
