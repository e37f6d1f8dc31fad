// Test program: the ways a traced process ends or misbehaves. Each mode leaks exactly one
// block of 4321 bytes in leakOne() first.
//   abort      abort()                         → killed by SIGABRT
//   fast-exit  _exit(7)
//   raw-exit   after 0.5 s (the tracer writes what it has meanwhile), the exit_group system
//              call itself, status 6: no libc function the tracer hooks runs
//   thread-exit exit(9) from a second thread
//   spin       allocates and frees forever (the test kills it with SIGKILL)
//   churn      replaces 65,536 live blocks one by one forever, so that a signal often
//              lands while the tracer updates its table of live blocks
//   exit-handler churns with a SIGTERM handler that calls exit(0), as many C daemons have
//   exit-freeing a second thread allocates 1,048,576 blocks of 32 bytes, then frees them one
//              by one; the main thread calls exit(0) 20 ms into the frees
//   throw      throws and catches 10000 C++ exceptions, exit 0 (exceptions must still
//              unwind through libgcc_s with the tracer loaded)
//   signal     allocates inside a signal handler 1000 times, exit 0
//   wait       says whether SIGTERM's action reads as the default, then waits for a signal
//              (the test sends SIGTERM or SIGINT: their default actions end it)
//   graceful   handles SIGTERM by counting it; from the first, goes on for 1 s (a server
//              shutting down), then says how many it handled and exits 0
//   graceful-once  the same with SA_RESETHAND: a second SIGTERM would end it
//   reraise    handles SIGINT and SIGTERM as Node.js does: the handler restores the default
//              action and raises the signal again; then waits for one, with a second
//              thread
//   segv       leaks 1234 more bytes in leakSprayed(), then writes through a null pointer
//              → killed by SIGSEGV
//   fork-ending keeps 16 MB of blocks (a longer exit snapshot), then on SIGUSR1 says
//              "forking" and forks a child every millisecond; each child raises SIGTERM
//              200 ms later and says "survived" if it lives on. The test then sends
//              SIGTERM: children forked while the parent finishes its trace must still
//              die of theirs.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <thread>

__attribute__((noinline)) void* leakOne() { return malloc(4321); }

namespace {
void raiseAgain(int signal) { raise(signal); }  // SA_RESETHAND put the default back

void waitForSignals() {
  printf("waiting\n");
  fflush(stdout);
  for (;;) pause();
}

// Leaks 1234 bytes whose address it leaves in 8 KiB of frame that is dead once it
// returns: below a crash's stack pointer, where only a scan from the tracer's signal
// handler, which runs further down, would take them for roots.
__attribute__((noinline)) void leakSprayed() {
  void* volatile copies[1024];
  void* block = malloc(1234);
  for (auto& copy : copies) copy = block;
}

volatile sig_atomic_t forking = 0;

void forkEveryMillisecond() {
  while (!forking) usleep(100);
  printf("forking\n");
  fflush(stdout);
  for (int i = 0; i < 500; ++i) {
    if (fork() == 0) {
      usleep(200'000);
      raise(SIGTERM);
      const char survived[] = "survived\n";
      ssize_t ignored = write(STDOUT_FILENO, survived, sizeof survived - 1);
      (void)ignored;
      _exit(0);
    }
    usleep(1000);
  }
}

[[noreturn]] void churn() {
  static void* slots[1 << 16];
  printf("churning\n");
  fflush(stdout);
  for (unsigned long i = 0;; ++i) {
    void*& slot = slots[i % (1 << 16)];
    free(slot);
    slot = malloc(16 + i % 512);
  }
}

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
  if (mode == "raw-exit") {
    usleep(500'000);
    syscall(SYS_exit_group, 6);
  }
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
  if (mode == "wait") {
    struct sigaction action {};
    sigaction(SIGTERM, nullptr, &action);
    printf("SIGTERM action: %s\n", action.sa_handler == SIG_DFL ? "default" : "other");
    printf("signal(SIGHUP) was: %s\n", signal(SIGHUP, SIG_DFL) == SIG_DFL ? "default" : "other");
    waitForSignals();
  }
  if (mode == "graceful" || mode == "graceful-once") {
    static volatile sig_atomic_t handled = 0;
    struct sigaction action {};
    action.sa_handler = [](int) { handled = handled + 1; };
    action.sa_flags = mode == "graceful-once" ? SA_RESETHAND : 0;
    sigaction(SIGTERM, &action, nullptr);
    printf("waiting\n");
    fflush(stdout);
    while (handled == 0) pause();
    timespec left{1, 0};
    while (nanosleep(&left, &left) != 0) {
    }
    printf("SIGTERM handled %d times\n", static_cast<int>(handled));
    return 0;
  }
  if (mode == "reraise") {
    // A second thread that does not block the signals, as node has: a second SIGTERM
    // finds it while the first one's handler runs on the other.
    std::thread([] {
      for (;;) pause();
    }).detach();
    struct sigaction action {};
    action.sa_handler = raiseAgain;
    action.sa_flags = SA_RESETHAND;
    sigfillset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    waitForSignals();
  }
  if (mode == "segv") {
    leakSprayed();
    printf("crashing\n");  // its frames overwrite what lay right below main's
    fflush(stdout);
    *static_cast<volatile int*>(nullptr) = 1;
  }
  if (mode == "fork-ending") {
    static void* blocks[16384];
    for (auto& block : blocks) block = calloc(1, 1024);
    signal(SIGUSR1, [](int) { forking = 1; });
    std::thread(forkEveryMillisecond).detach();
    waitForSignals();
  }
  if (mode == "churn") churn();
  if (mode == "exit-freeing") {
    static std::atomic<bool> freeing{false};
    std::thread([] {
      static void* blocks[1 << 20];
      for (auto& block : blocks) block = malloc(32);
      freeing = true;
      for (auto& block : blocks) {
        free(block);
        block = nullptr;  // the freed block's last pointer goes
      }
    }).detach();
    while (!freeing) usleep(1000);
    usleep(20'000);
    exit(0);
  }
  if (mode == "exit-handler") {
    signal(SIGTERM, [](int) { exit(0); });
    churn();
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
