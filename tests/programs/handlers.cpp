// Test program: the program's signal handlers behave as they do without the tracer, which
// gives the kernel a trampoline and runs them outside its hooks (preload/program_signals.h).
// Prints a line per check and exits 0 when all passed:
//   "actions read back: ok"   sigaction, signal and sigset give back the program's own
//                             handlers and flags (SA_SIGINFO, SA_RESETHAND); sigset holds
//                             and lets go of the signal as System V's does
//   "resethand: ok"           an SA_RESETHAND handler runs once; the action then reads as
//                             the default; so does one set with __sysv_signal (`signal` in
//                             C built with -std=c99), which gives back the handler before it
//   "queued 5000: ok"         5,000 real-time signals sent with sigqueue, one at a time, to
//                             a thread that allocates all the time (so that many land inside
//                             the tracer's hooks) all arrive, each with its own siginfo:
//                             SI_QUEUE, the sender's pid, the value sent. Before them, a
//                             vfork child (which shares the parent's memory) set that
//                             signal's action to the default: the parent's handler stays.
//   "siginterrupt: ok"        after siginterrupt(SIGALRM, 1), a handler set with signal()
//                             lets SIGALRM interrupt a read() with EINTR (glibc's signal()
//                             leaves SA_RESTART out for such a signal; restarted, the
//                             read waits for a thread that writes 2 s later)
// `test_handlers heap-abort` instead frees a block twice: glibc aborts inside free, and
// the SIGABRT handler says "abort handler ran" and exits 0.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

constexpr int kQueued = 5000;
volatile sig_atomic_t received = 0;
volatile sig_atomic_t badInfo = 0;
volatile sig_atomic_t resetRuns = 0;
std::atomic<bool> stop{false};

void onQueued(int, siginfo_t* info, void*) {
  if (info->si_code != SI_QUEUE || info->si_pid != getpid() || info->si_value.sival_int < 0 ||
      info->si_value.sival_int >= kQueued) {
    badInfo = 1;
  }
  received = received + 1;
}

void onReset(int) { resetRuns = resetRuns + 1; }
volatile sig_atomic_t sysvRuns = 0;
void onSysv(int) { sysvRuns = sysvRuns + 1; }
void onPlain(int) {}

void churn() {
  static void* slots[4096];
  for (unsigned long i = 0; !stop.load(std::memory_order_relaxed); ++i) {
    void*& slot = slots[i % 4096];
    free(slot);
    slot = malloc(16 + i % 256);
  }
}

bool actionsReadBack() {
  struct sigaction queued {};
  queued.sa_sigaction = onQueued;
  queued.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&queued.sa_mask);
  struct sigaction reset {};
  reset.sa_handler = onReset;
  reset.sa_flags = SA_RESETHAND;
  sigemptyset(&reset.sa_mask);
  if (sigaction(SIGRTMIN + 1, &queued, nullptr) != 0 || sigaction(SIGUSR2, &reset, nullptr) != 0)
    return false;
  struct sigaction a {
  }, b{};
  sigaction(SIGRTMIN + 1, nullptr, &a);
  sigaction(SIGUSR2, nullptr, &b);
  bool ok = a.sa_sigaction == onQueued && (a.sa_flags & SA_SIGINFO) && (a.sa_flags & SA_RESTART) &&
            b.sa_handler == onReset && !(b.sa_flags & SA_SIGINFO) && (b.sa_flags & SA_RESETHAND);
  // signal() gives back the previous handler, whoever set it.
  ok = ok && signal(SIGUSR1, onPlain) == SIG_DFL && signal(SIGUSR1, SIG_IGN) == onPlain &&
       signal(SIGUSR1, SIG_DFL) == SIG_IGN;
  // sigset: SIG_HOLD blocks and gives the handler; a handler set after it unblocks.
  // Deprecated, and still in old System V code: what is tested here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  signal(SIGUSR1, onPlain);
  ok = ok && sigset(SIGUSR1, SIG_HOLD) == onPlain && sigset(SIGUSR1, SIG_HOLD) == SIG_HOLD &&
       sigset(SIGUSR1, SIG_DFL) == SIG_HOLD && sigset(SIGUSR1, SIG_DFL) == SIG_DFL;
#pragma GCC diagnostic pop
  sigset_t blocked;
  sigprocmask(SIG_BLOCK, nullptr, &blocked);
  return ok && !sigismember(&blocked, SIGUSR1);
}

bool resetOnce() {
  raise(SIGUSR2);
  struct sigaction now {};
  sigaction(SIGUSR2, nullptr, &now);
  bool reset = resetRuns == 1 && now.sa_handler == SIG_DFL && !(now.sa_flags & SA_SIGINFO);
  signal(SIGUSR1, onPlain);
  bool previous = __sysv_signal(SIGUSR1, onSysv) == onPlain;
  raise(SIGUSR1);
  sigaction(SIGUSR1, nullptr, &now);
  return reset && previous && sysvRuns == 1 && now.sa_handler == SIG_DFL;
}

bool interruptsCalls() {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // programs still call it
  siginterrupt(SIGALRM, 1);
#pragma GCC diagnostic pop
  signal(SIGALRM, [](int) {});
  int fds[2];
  if (pipe(fds) != 0) return false;
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    ssize_t ignored = write(fds[1], "x", 1);
    (void)ignored;
  });
  itimerval once{{0, 0}, {0, 100'000}};
  setitimer(ITIMER_REAL, &once, nullptr);
  char c;
  ssize_t n = read(fds[0], &c, 1);
  bool interrupted = n < 0 && errno == EINTR;
  late.join();
  close(fds[0]);
  close(fds[1]);
  signal(SIGALRM, SIG_DFL);
  return interrupted;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "heap-abort") {
    signal(SIGABRT, [](int) {
      const char ran[] = "abort handler ran\n";
      ssize_t ignored = write(STDOUT_FILENO, ran, sizeof ran - 1);
      (void)ignored;
      _exit(0);
    });
    void* volatile block = malloc(64);
    free(block);
    free(block);  // glibc: "free(): double free detected in tcache 2", then abort()
    return 1;
  }
  bool actions = actionsReadBack();
  printf("actions read back: %s\n", actions ? "ok" : "WRONG");
  bool reset = resetOnce();
  printf("resethand: %s\n", reset ? "ok" : "WRONG");
  bool interrupts = interruptsCalls();
  printf("siginterrupt: %s\n", interrupts ? "ok" : "WRONG");
  // A vfork child resetting the action before it would exec, as some spawners do.
  pid_t child = vfork();
  if (child == 0) {
    signal(SIGRTMIN + 1, SIG_DFL);
    _exit(0);
  }
  waitpid(child, nullptr, 0);
  // Only the churning thread takes the signals.
  sigset_t queuedSignal;
  sigemptyset(&queuedSignal);
  sigaddset(&queuedSignal, SIGRTMIN + 1);
  pthread_sigmask(SIG_BLOCK, &queuedSignal, nullptr);
  std::thread worker([&] {
    pthread_sigmask(SIG_UNBLOCK, &queuedSignal, nullptr);
    churn();
  });
  // One at a time: each lands where the worker happens to be, not a burst at one place.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int i = 0; i < kQueued && std::chrono::steady_clock::now() < deadline; ++i) {
    sigqueue(getpid(), SIGRTMIN + 1, sigval{i});
    // Yielding: a spin would keep the worker off this core for a whole time slice per
    // signal. Each signal waits for both threads to be scheduled in turn, so on a machine
    // busy with other work this runs at a few hundred signals a second (two other
    // programs spinning on this machine's two cores: 20 s for 3,694): hence 5,000.
    while (received <= i && std::chrono::steady_clock::now() < deadline) sched_yield();
  }
  stop = true;
  worker.join();
  bool queued = received == kQueued && !badInfo;
  printf("queued %d: %s\n", static_cast<int>(received), queued ? "ok" : "WRONG");
  return actions && reset && interrupts && queued ? 0 : 1;
}
