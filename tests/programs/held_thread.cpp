// Test program: a thread that another process holds with ptrace, as a debugger would, when
// the program exits: the exit snapshot cannot stop it.
//   held_thread
// A child of the program seizes the thread (PTRACE_SEIZE: it runs on, blocked in read())
// and reaps it when it ends. The program leaks 1 block of 4,321 bytes (leakOne), prints
// "held" once the thread is held, and exits 0 via exit() with the thread still held.
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

__attribute__((noinline)) void leakOne() {
  void* p = malloc(4321);
  asm volatile("" : : "r"(p) : "memory");
}

// The holder: keeps `tid` seized until it ends, passing on any signal it stops for.
[[noreturn]] void hold(pid_t tid, int ready) {
  if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) _exit(2);
  if (write(ready, "h", 1) != 1) _exit(3);
  int status;
  while (waitpid(tid, &status, __WALL) == tid && WIFSTOPPED(status)) {
    int signal = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
    ptrace(PTRACE_CONT, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(signal)));
  }
  _exit(0);
}

}  // namespace

int main() {
  int blocker[2], ready[2];
  if (pipe(blocker) != 0 || pipe(ready) != 0) return 1;
  std::atomic<pid_t> workerTid{0};
  std::thread([&] {
    workerTid = gettid();
    char c;
    while (read(blocker[0], &c, 1) != 0) {
    }
  }).detach();
  while (workerTid == 0) usleep(1000);
  prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);  // under Yama, a child may not trace its parent
  if (fork() == 0) hold(workerTid, ready[1]);
  char c;
  if (read(ready[0], &c, 1) != 1) return 1;  // the holder could not seize the thread
  leakOne();
  puts("held");
  fflush(stdout);
  exit(0);
}
