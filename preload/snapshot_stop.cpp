// Stop, copy and resume (SNAPSHOTS.md, steps 2-7). See snapshot_stop.h.
#include "snapshot_stop.h"

#include <elf.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "dont_fork.h"
#include "heap_guard.h"
#include "heap_scan.h"
#include "monotonic_clock.h"
#include "ring.h"
#include "snapshot_job.h"
#include "wait_deadline.h"

namespace tidemark::preload {
namespace {

constexpr uint64_t kGuardPatienceNs = 60'000'000'000;

// Waits a little; with a heap guard, answering its faults meanwhile: a thread may be
// waiting for one to be answered before it can stop (a write inside a system call).
void pause(const SnapshotJob& job, long ns) {
  if (job.guard) {
    serveHeapGuard(*job.guard, static_cast<uint64_t>(ns));
    return;
  }
  timespec ts{0, ns};
  nanosleep(&ts, nullptr);
}

// Reads a small /proc file with plain system calls.
size_t readSmall(const char* path, char* out, size_t capacity) {
  int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC));
  if (fd < 0) return 0;
  ssize_t n = syscall(SYS_read, fd, out, capacity - 1);
  syscall(SYS_close, fd);
  out[n > 0 ? n : 0] = '\0';
  return n > 0 ? static_cast<size_t>(n) : 0;
}

void formatPath(char* out, size_t capacity, pid_t pid, pid_t tid, const char* file) {
  // "/proc/<pid>/task/<tid>/<file>" without stdio.
  char digits[2][16];
  pid_t values[2] = {pid, tid};
  for (int k = 0; k < 2; ++k) {
    char tmp[16];
    int n = 0;
    for (pid_t v = values[k]; v > 0 || n == 0; v /= 10) tmp[n++] = static_cast<char>('0' + v % 10);
    for (int i = 0; i < n; ++i) digits[k][i] = tmp[n - 1 - i];
    digits[k][n] = '\0';
  }
  size_t at = 0;
  auto put = [&](const char* s) {
    while (*s && at + 1 < capacity) out[at++] = *s++;
  };
  put("/proc/");
  put(digits[0]);
  put("/task/");
  put(digits[1]);
  put("/");
  put(file);
  out[at] = '\0';
}

// A thread that is exiting answers the seize with EPERM: gone when its state is Z or X.
bool exiting(pid_t pid, pid_t tid) {
  char path[96], stat[512];
  formatPath(path, sizeof path, pid, tid, "stat");
  if (readSmall(path, stat, sizeof stat) == 0) return true;
  const char* close = strrchr(stat, ')');
  return !close || close[2] == 'Z' || close[2] == 'X';
}

uint64_t hexField(const char* status, const char* name) {
  const char* at = strstr(status, name);
  return at ? strtoull(at + strlen(name), nullptr, 16) : 0;
}

// A signal the thread will take when it runs: then a restarted call would hide the EINTR
// the program may be waiting for, so the call is left as the kernel made it.
bool hasPendingSignal(pid_t pid, pid_t tid) {
  char path[96], status[4096];
  formatPath(path, sizeof path, pid, tid, "status");
  if (readSmall(path, status, sizeof status) == 0) return true;
  uint64_t pending = hexField(status, "SigPnd:") | hexField(status, "ShdPnd:");
  return (pending & ~hexField(status, "SigBlk:")) != 0;
}

// The snapshot will say it is incomplete, and why (format::kSnapshotThreads*).
void giveUp(SnapshotJob& job, uint32_t reason) {
  job.incomplete |= format::kSnapshotIncomplete | reason;
}

uint32_t threadSlotOf(pid_t tid) {
  return (static_cast<uint32_t>(tid) * 2654435761u) & (SnapshotJob::kThreadSlots - 1);
}

SnapshotJob::Thread* findThread(SnapshotJob& job, pid_t tid) {
  for (uint32_t at = threadSlotOf(tid);; at = (at + 1) & (SnapshotJob::kThreadSlots - 1)) {
    uint16_t i = job.threadSlots[at];
    if (i == 0) return nullptr;
    if (job.threads[i - 1].tid == tid) return &job.threads[i - 1];
  }
}

SnapshotJob::Thread& addThread(SnapshotJob& job, pid_t tid) {
  uint32_t index = job.threadCount++;
  SnapshotJob::Thread& t = job.threads[index];
  t = SnapshotJob::Thread{};
  t.tid = tid;
  uint32_t at = threadSlotOf(tid);
  while (job.threadSlots[at]) at = (at + 1) & (SnapshotJob::kThreadSlots - 1);
  job.threadSlots[at] = static_cast<uint16_t>(index + 1);
  return t;
}

// Seizes every thread not seized yet; returns how many were new.
uint32_t seizeNewThreads(SnapshotJob& job) {
  char path[64] = "/proc/";
  char* end = path + 6;
  char digits[16];
  int n = 0;
  for (pid_t v = job.pid; v > 0; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
  while (n) *end++ = digits[--n];
  memcpy(end, "/task", 6);
  int fd =
      static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd < 0) return 0;
  uint32_t added = 0;
  alignas(8) char buffer[8192];
  for (;;) {
    long bytes = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    if (bytes <= 0) break;
    for (long at = 0; at < bytes;) {
      // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
      unsigned short length;
      memcpy(&length, buffer + at + 16, sizeof length);
      const char* name = buffer + at + 19;
      at += length;
      if (name[0] < '0' || name[0] > '9') continue;
      pid_t tid = static_cast<pid_t>(strtol(name, nullptr, 10));
      if (tid == job.creatorTid || findThread(job, tid)) continue;
      if (job.threadCount == SnapshotJob::kMaxThreads) {
        giveUp(job, format::kSnapshotTooManyThreads);
        ++job.threadsNotStopped;
        continue;
      }
      SnapshotJob::Thread& t = addThread(job, tid);
      ++added;
      if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) == 0) {
        t.seized = true;
        ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
        t.interrupted = true;
      } else if (errno == ESRCH || (errno == EPERM && exiting(job.pid, tid))) {
        t.gone = true;
      } else {
        giveUp(job, format::kSnapshotThreadsRefused);  // a debugger holds it, or no ptrace
        ++job.threadsNotStopped;
        t.gone = true;
      }
    }
  }
  syscall(SYS_close, fd);
  return added;
}

bool running(const SnapshotJob::Thread& t) { return t.seized && !t.stopped && !t.gone; }

// Takes the stops and ends reported by threads still running, without waiting; false when
// there were none. One thread at a time: a wait for any tracee looks at each of them, and
// with thousands of threads the stop spent most of its time there.
bool takeReports(SnapshotJob& job) {
  bool any = false;
  for (uint32_t i = 0; i < job.threadCount; ++i) {
    SnapshotJob::Thread& t = job.threads[i];
    if (!running(t)) continue;
    int status = 0;
    if (wait4(t.tid, &status, __WALL | WNOHANG, nullptr) != t.tid) continue;
    any = true;
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      t.gone = true;
    } else if (WIFSTOPPED(status)) {
      t.stopped = true;
      // A signal-delivery stop holds a signal for the thread: give it back at detach.
      if ((status >> 16) == 0 && WSTOPSIG(status) != SIGTRAP) t.pendingSignal = WSTOPSIG(status);
    }
  }
  return any;
}

// Waits until every seized thread reported a stop or its end, or the deadline passed.
void waitForStops(SnapshotJob& job) {
  for (;;) {
    bool waiting = false;
    for (uint32_t i = 0; i < job.threadCount; ++i) waiting = waiting || running(job.threads[i]);
    if (!waiting) return;
    if (takeReports(job)) continue;
    if (monotonicNs() > job.deadlineNs) {
      giveUp(job, format::kSnapshotThreadsTimedOut);
      return;
    }
    pause(job, 20'000);
  }
}

// Which ring each thread holds, from one pass over the rings. The threads are stopped by
// now (but any the stop gave up on), so none takes a ring after it.
void findRings(SnapshotJob& job) {
  uint32_t n = rings.count();
  for (uint32_t i = 0; i < n; ++i) {
    Ring* ring = rings.at(i);
    if (!ring || ring->state.load(std::memory_order_relaxed) != RingState::Owned) continue;
    int32_t tid = ring->tid.load(std::memory_order_acquire);
    if (SnapshotJob::Thread* t = tid ? findThread(job, tid) : nullptr) t->ring = ring;
  }
}

// A thread stopped inside a tracer hook may hold a live-table lock or be half way
// through an update: let it run on briefly and stop it again.
bool insideHook(const SnapshotJob::Thread& t) {
  const Ring* ring = t.ring;
  return ring && ring->tid.load(std::memory_order_relaxed) == t.tid &&
         ring->state.load(std::memory_order_relaxed) == RingState::Owned &&
         ring->busy.load(std::memory_order_acquire) != 0;
}

// A thread stopped inside a hook runs on until it is seen outside the hook, and is only
// then interrupted again. An interrupt that reaches a thread already stopped for
// something else (a signal it is being given: SIGCHLD, in a program that forks) stays
// pending and stops it again the moment it is resumed, before it runs an instruction;
// interrupted blindly after each resume, such a thread went round inside its hook until
// the deadline, and the snapshot paused the program 500 ms to come out incomplete. And a
// thread that stops for a signal inside a hook is resumed at once: it may hold a table
// lock another resumed thread spins on.
void stopOutsideHooks(SnapshotJob& job) {
  findRings(job);
  for (;;) {
    takeReports(job);
    bool waiting = false;
    for (uint32_t i = 0; i < job.threadCount; ++i) {
      auto& t = job.threads[i];
      if (!t.seized || t.gone) continue;
      if (t.stopped) {
        if (!insideHook(t)) continue;  // where it must be
        ptrace(PTRACE_CONT, t.tid, nullptr,
               reinterpret_cast<void*>(static_cast<long>(t.pendingSignal)));
        t.pendingSignal = 0;
        t.stopped = false;
        t.interrupted = false;
      }
      waiting = true;
      if (!t.interrupted && !insideHook(t)) {
        ptrace(PTRACE_INTERRUPT, t.tid, nullptr, nullptr);
        t.interrupted = true;
      }
    }
    if (!waiting) return;
    if (monotonicNs() > job.deadlineNs) {
      giveUp(job, format::kSnapshotThreadsTimedOut);
      return;
    }
    pause(job, 20'000);
  }
}

// An epoll wait's timeout (its fourth argument, r10) is relative: restart it with what is
// left, or a wait restarted by every snapshot might never time out. epoll_wait and
// epoll_pwait take milliseconds in r10; epoll_pwait2 a pointer to a timespec, which is
// rewritten only when it is the hook's own copy.
void restartWithTimeLeft(user_regs_struct& r) {
  bool ms = r.orig_rax == SYS_epoll_wait || r.orig_rax == SYS_epoll_pwait;
  bool timespecPointer = r.orig_rax == SYS_epoll_pwait2;
  TimedWait wait = ms || timespecPointer ? timedWaitOf(r.fs_base) : TimedWait{};
  if (wait.deadlineNs == 0) return;
  uint64_t now = monotonicNs();
  uint64_t left = now >= wait.deadlineNs ? 0 : wait.deadlineNs - now;
  if (ms) {
    r.r10 = (left + 999'999) / 1'000'000;
  } else if (wait.timeout && r.r10 == reinterpret_cast<uint64_t>(wait.timeout)) {
    wait.timeout->tv_sec = static_cast<time_t>(left / 1'000'000'000u);
    wait.timeout->tv_nsec = static_cast<long>(left % 1'000'000'000u);
  }
}

void readRegisters(SnapshotJob& job) {
  for (uint32_t i = 0; i < job.threadCount; ++i) {
    auto& t = job.threads[i];
    if (!t.stopped || t.gone) continue;
    iovec io{&t.regs, sizeof t.regs};
    if (ptrace(PTRACE_GETREGSET, t.tid, reinterpret_cast<void*>(NT_PRSTATUS), &io) != 0) {
      t.stopped = false;  // not scanned; the snapshot is incomplete
      giveUp(job, 0);
      continue;
    }
    // The stop made a blocking call (epoll_wait, sigtimedwait, recv with a timeout)
    // return EINTR. Back up over the `syscall` instruction so it runs again, as the kernel
    // does itself for restartable calls.
    auto& r = t.regs;
    uint16_t instruction = 0;
    if (static_cast<long>(r.rax) == -EINTR && static_cast<long>(r.orig_rax) >= 0 && r.rip >= 2) {
      memcpy(&instruction, reinterpret_cast<const void*>(r.rip - 2), sizeof instruction);
    }
    if (instruction == 0x050f && !hasPendingSignal(job.pid, t.tid)) {
      user_regs_struct fixed = r;
      fixed.rax = fixed.orig_rax;
      fixed.rip -= 2;
      restartWithTimeLeft(fixed);
      iovec set{&fixed, sizeof fixed};
      ptrace(PTRACE_SETREGSET, t.tid, reinterpret_cast<void*>(NT_PRSTATUS), &set);
    }
  }
}

void resumeAll(SnapshotJob& job) {
  for (uint32_t i = 0; i < job.threadCount; ++i) {
    auto& t = job.threads[i];
    if (!t.seized || t.gone) continue;
    ptrace(PTRACE_DETACH, t.tid, nullptr,
           reinterpret_cast<void*>(static_cast<long>(t.pendingSignal)));
  }
}

}  // namespace

int snapshotHelperMain(void* arg) {
  auto& job = *static_cast<SnapshotJob*>(arg);
  syscall(SYS_prctl, PR_SET_NAME, "tidemark-stop");  // what ps shows: not the writer
  sigset_t all;
  sigfillset(&all);
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, nullptr, _NSIG / 8);
  while (job.go.load(std::memory_order_acquire) == 0) {
    if (job.guard) {
      serveHeapGuard(*job.guard, 1'000'000);  // while the writer protects
    } else {
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&job.go), FUTEX_WAIT, 0, nullptr, nullptr, 0);
    }
  }
  uint64_t start = monotonicNs();
  while (seizeNewThreads(job) > 0) waitForStops(job);
  waitForStops(job);
  stopOutsideHooks(job);
  readRegisters(job);
  for (uint32_t i = 0; i < job.threadCount; ++i) job.threadsNotStopped += running(job.threads[i]);
  // The copy: a child of the program (CLONE_PARENT, so the writer thread can reap it),
  // that no signal reports (exit signal 0) and no tracer follows.
  // The program may have marked more memory DONTFORK since the writer's listing (V8
  // growing its heap): catch up from what the hooks noted, or list again.
  if (!catchUpDontForkMappings(job)) listDontForkMappings(job);
  job.listingCurrent = !job.incomplete;  // a thread left running may have changed more
  if (job.guard) startCopyingBeforeWrites(*job.guard, job);
  setForkable(job, true);
  if (job.guard) setGuardedForkable(*job.guard, false);
  // The child scans only once every thread runs again: on two cores, a child scanning at
  // once took the CPU this helper needed to resume the threads (3.5 ms of an 8.5 ms pause
  // of node's). The helper closes its ends of the gate then; the program's threads are
  // stopped meanwhile (all but any the stop could not reach: the snapshot is incomplete
  // then), so none sees the two close-on-exec descriptors.
  int gate[2] = {-1, -1};
  if (syscall(SYS_pipe2, gate, O_CLOEXEC) != 0) gate[0] = gate[1] = -1;
  job.startGateRead = gate[0];
  job.startGateWrite = gate[1];
  job.childPid = clone(heapScanMain, job.childStack + sizeof job.childStack,
                       CLONE_PARENT | CLONE_UNTRACED, &job);
  // This helper's errno is the writer thread's (one thread pointer): read it at once.
  job.childErrno = job.childPid < 0 ? errno : 0;
  if (job.guard) setGuardedForkable(*job.guard, true);
  setForkable(job, false);
  // Dumpable only for the stop (snapshot_job.h): not dumpable again before its threads
  // run (the flag is the memory's, which this helper shares).
  if (!job.programDumpable) syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  resumeAll(job);
  job.pauseNs = monotonicNs() - start;
  for (int fd : gate) {
    if (fd >= 0) syscall(SYS_close, fd);
  }
  job.done.store(1, std::memory_order_release);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&job.done), FUTEX_WAKE, 1, nullptr, nullptr, 0);
  if (job.guard) {
    // Serving on, the helper must not keep the program's files open after it: a table of
    // its own, without the pipe (else a child writing into it would outlive the program).
    syscall(SYS_unshare, CLONE_FILES);
    syscall(SYS_close, job.inFd);
    syscall(SYS_close, job.outFd);
    serveUntilScanDone(*job.guard, job.childPid, monotonicNs() + kGuardPatienceNs);
  }
  return 0;
}

}  // namespace tidemark::preload
