// Snapshot orchestration on the writer thread (see snapshot.h and SNAPSHOTS.md).
#include "snapshot.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dont_fork.h"
#include "heap_guard.h"
#include "loader_walks.h"
#include "malloc_state.h"
#include "monotonic_clock.h"
#include "raw_memory.h"
#include "real_functions.h"
#include "snapshot_job.h"
#include "snapshot_stop.h"
#include "stack_capture.h"
#include "tracer.h"
#include "writer.h"

namespace tidemark::preload {
namespace {

SnapshotJob* job = nullptr;
uint32_t nextId = 0;
pid_t interruptedTid = 0;
user_regs_struct interruptedRegs;
bool interruptedAtCall = false;
constexpr uint64_t kRelistNs = 10'000'000'000;  // the longest a listing is caught up from

// Writable segments of every loaded object but the tracer's own: its state is never a root.
void collectSegments(SnapshotJob& j) {
  Dl_info self;
  dladdr(reinterpret_cast<void*>(&collectSegments), &self);
  j.segmentCount = 0;
  j.ownSegmentCount = 0;
  struct Context {
    SnapshotJob* job;
    void* ownBase;
  } context{&j, self.dli_fbase};
  walkLoadedObjects(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* c = static_cast<Context*>(data);
        bool own = reinterpret_cast<void*>(info->dlpi_addr) == c->ownBase;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W)) continue;
          uint64_t begin = info->dlpi_addr + ph.p_vaddr;
          SnapshotJob::Range range{begin, begin + ph.p_memsz};
          if (own && c->job->ownSegmentCount < 16) {
            c->job->ownSegments[c->job->ownSegmentCount++] = range;
          } else if (!own && c->job->segmentCount < SnapshotJob::kMaxSegments) {
            c->job->segments[c->job->segmentCount++] = range;
          }
        }
        return 0;
      },
      &context);
  j.mallocState = findMainArena(reinterpret_cast<const void*>(real.malloc));
}

// The size of the static TLS area below each thread's fs_base, from ld.so when it says.
uint64_t staticTlsBytes() {
  using Info = void (*)(size_t*, size_t*);
  auto info = reinterpret_cast<Info>(dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info"));
  size_t size = 0, align = 0;
  if (info) info(&size, &align);
  return size ? size : 64 * 1024;
}

bool waitFlag(std::atomic<uint32_t>& flag, uint64_t timeoutNs) {
  uint64_t deadline = monotonicNs() + timeoutNs;
  while (flag.load(std::memory_order_acquire) == 0) {
    if (monotonicNs() > deadline) return false;
    timespec slice{0, 20'000'000};
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&flag), FUTEX_WAIT, 0, &slice, nullptr, 0);
  }
  return true;
}

// How the scanning child's output went.
struct ScanOutcome {
  bool broken = false;  // it wrote something that is not a record
  bool reaped = false;  // it is gone, and `status` says how it ended
  int status = 0;
};

bool readFully(int fd, void* out, size_t bytes, pid_t child, ScanOutcome& outcome) {
  auto* p = static_cast<char*>(out);
  while (bytes > 0) {
    pollfd poller{fd, POLLIN, 0};
    if (poll(&poller, 1, outcome.reaped ? 0 : 100) == 0) {
      // A reaped child's writes are all in the pipe: what is not there will not come.
      if (outcome.reaped) return false;
      // Nothing for a while: if the child is gone (crashed), stop waiting for it once the
      // pipe is empty (it may have written the rest and exited after the poll). A child
      // the program forked meanwhile may hold the pipe's write end open.
      if (waitpid(child, &outcome.status, __WALL | WNOHANG) == child) {
        outcome.reaped = true;
        continue;
      }
      // A guarded snapshot's child reads the heap before it writes: that is progress too
      // (an exiting program waits for the writer only while it makes some).
      static uint64_t lastRead = 0;
      if (job->guard && heapGuardBytesRead(*job->guard) != lastRead) {
        lastRead = heapGuardBytesRead(*job->guard);
        noteWriterProgress();
      }
      continue;
    }
    ssize_t n = read(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  return true;
}

// Moves the child's records into the trace, filling in the pause and scan times.
bool copyRecords(int fd, pid_t child, uint64_t pauseNs, uint64_t resumedNs,
                 format::ChunkEncoder& encoder, ScanOutcome& outcome) {
  static unsigned char record[256 * 1024];
  bool ended = false;
  for (;;) {
    auto* header = reinterpret_cast<format::RecordHeader*>(record);
    if (!readFully(fd, header, sizeof *header, child, outcome)) break;
    if (header->length < sizeof *header || header->length > sizeof record) {
      outcome.broken = true;
      break;
    }
    if (!readFully(fd, record + sizeof *header, header->length - sizeof *header, child, outcome))
      break;
    if (header->kind == format::RecordKind::SnapshotBegin) {
      reinterpret_cast<format::SnapshotBeginRecord*>(record)->pauseUs = pauseNs / 1000;
    }
    if (header->kind == format::RecordKind::SnapshotEnd) {
      reinterpret_cast<format::SnapshotEndRecord*>(record)->scanUs =
          (monotonicNs() - resumedNs) / 1000;
      ended = true;
    }
    if (!encoder.appendRecord(record, header->length)) return false;
    noteWriterProgress();
  }
  return ended;
}

// In place of the End of a snapshot that has none, why (format 1.5): else the report
// would show an earlier snapshot's leaks without a word about the one asked for.
void noteFailure(format::ChunkEncoder& encoder, format::SnapshotFailure reason, int detail) {
  format::SnapshotFailedRecord record{};
  record.header = {format::RecordKind::SnapshotFailed, 0, sizeof record};
  record.snapshot = job->id;
  record.trigger = static_cast<uint32_t>(job->trigger);
  record.timeUs = job->timeUs;
  record.reason = static_cast<uint32_t>(reason);
  record.detail = detail;
  encoder.appendRecord(&record, sizeof record);
}

void noteScanFailure(format::ChunkEncoder& encoder, const ScanOutcome& outcome) {
  using format::SnapshotFailure;
  if (outcome.broken) {
    noteFailure(encoder, SnapshotFailure::BrokenOutput, 0);
  } else if (WIFSIGNALED(outcome.status)) {
    noteFailure(encoder, SnapshotFailure::ScannerKilled, WTERMSIG(outcome.status));
  } else {
    noteFailure(encoder, SnapshotFailure::ScannerExited, WEXITSTATUS(outcome.status));
  }
}

// The job lets go of the guard before the guard's memory goes: a program thread may fork
// at any moment, and its child looks at job->guard (abandonSnapshotAfterFork); a child
// forked after the memory went died of it. One forked in between keeps the guard's two
// files open, which do nothing more: the helper unregistered every range before.
void disarmGuard(SnapshotJob& j) {
  HeapGuard* guard = j.guard;
  j.guard = nullptr;
  disarmHeapGuard(guard);
}

// The guard for this snapshot, if it gets one: with --guard-heap whenever the program has
// mappings to guard; by default when they are big enough for the copy's pause to count
// (heap_guard.h). At exit too: the exiting thread then waits longer for the scan (a
// guarded heap scans about half as fast as a copied one), but the program's other
// threads, which may still be serving, are not stopped for the copy.
void armGuard(SnapshotJob& j) {
  j.guard = nullptr;
  GuardHeap mode = options().guardHeap;
  if (mode != GuardHeap::Never) j.guard = armHeapGuard(j, mode == GuardHeap::Auto);
}

}  // namespace

bool initSnapshots() {
  job = static_cast<SnapshotJob*>(mapPages(sizeof(SnapshotJob)));
  if (!job) return false;
  job->tlsBelow = staticTlsBytes();  // fixed once the program's startup objects are loaded
  return true;
}

void noteInterruptedThread(const ucontext_t& context) {
  const greg_t* g = context.uc_mcontext.gregs;
  user_regs_struct r{};
  r.r8 = g[REG_R8], r.r9 = g[REG_R9], r.r10 = g[REG_R10], r.r11 = g[REG_R11];
  r.r12 = g[REG_R12], r.r13 = g[REG_R13], r.r14 = g[REG_R14], r.r15 = g[REG_R15];
  r.rdi = g[REG_RDI], r.rsi = g[REG_RSI], r.rbp = g[REG_RBP], r.rbx = g[REG_RBX];
  r.rdx = g[REG_RDX], r.rax = g[REG_RAX], r.rcx = g[REG_RCX], r.rsp = g[REG_RSP];
  r.rip = g[REG_RIP];
  r.fs_base = reinterpret_cast<uint64_t>(__builtin_thread_pointer());  // unchanged by signals
  interruptedRegs = r;
  interruptedAtCall = false;
  interruptedTid = static_cast<pid_t>(syscall(SYS_gettid));
}

void noteCallerOfTracer() {
  user_regs_struct r;
  if (!callerOfTracer(&r)) return;  // then the thread's own registers, as for any other
  r.fs_base = reinterpret_cast<uint64_t>(__builtin_thread_pointer());
  interruptedRegs = r;
  interruptedAtCall = true;
  interruptedTid = static_cast<pid_t>(syscall(SYS_gettid));
}

void abandonSnapshotAfterFork() {
  if (!job || !job->guard) return;
  // The guard's memory is shared with the parent, which still uses it: only the files go.
  closeHeapGuardFiles(*job->guard);
  job->guard = nullptr;
}

bool takeSnapshot(format::SnapshotTrigger trigger, uint64_t nowUs, format::ChunkEncoder& encoder,
                  const StackRange* deadStacks, uint32_t deadStackCount) {
  if (!job) return false;
  int savedErrno = errno;  // the helper shares this thread's errno
  job->pid = getpid();
  job->creatorTid = static_cast<pid_t>(syscall(SYS_gettid));
  job->id = nextId;
  job->trigger = trigger;
  job->timeUs = nowUs;
  collectSegments(*job);
  job->interruptedTid = interruptedTid;
  job->interruptedRegs = interruptedRegs;
  job->interruptedAtCall = interruptedAtCall;
  // The last stop left a listing to catch up from; list again now and then anyway, so
  // that what the notes cannot show (dont_fork.h) does not last.
  uint64_t now = monotonicNs();
  if (!job->listingCurrent || job->listedPid != job->pid || now - job->listedNs > kRelistNs) {
    listDontForkMappings(*job);
    job->listedPid = job->pid;
    job->listedNs = now;
  }
  job->listingCurrent = false;  // until the helper's stop has brought it up to date
  job->deadStackCount = 0;
  for (uint32_t i = 0; i < deadStackCount && i < SnapshotJob::kMaxDeadStacks; ++i) {
    job->deadStacks[job->deadStackCount++] = {deadStacks[i].low, deadStacks[i].high};
  }
  int local = 0;
  job->creatorStack = reinterpret_cast<uint64_t>(&local);
  armGuard(*job);
  job->threadCount = 0;
  memset(job->threadSlots, 0, sizeof job->threadSlots);
  job->incomplete = 0;
  job->threadsNotStopped = 0;
  job->pauseNs = 0;
  job->childPid = 0;
  job->go.store(0);
  job->done.store(0);
  auto finish = [&](bool ok) {
    disarmGuard(*job);
    ++nextId;
    errno = savedErrno;
    return ok;
  };
  auto notStarted = [&](int error) {
    noteFailure(encoder, format::SnapshotFailure::NoScanner, error);
    return finish(false);
  };
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return notStarted(errno);
  job->outFd = fds[1];
  job->inFd = fds[0];
  job->deadlineNs = monotonicNs() + 500'000'000;
  // The helper shares our memory and files but is a process of its own, so it can
  // ptrace every thread of ours; exit signal 0: the program never sees a SIGCHLD.
  pid_t helper = clone(snapshotHelperMain, job->helperStack + sizeof job->helperStack,
                       CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, job);
  if (helper < 0) {
    int error = errno;
    close(fds[0]);
    close(fds[1]);
    return notStarted(error);
  }
  prctl(PR_SET_PTRACER, helper, 0, 0, 0);  // Yama's ptrace_scope 1 asks for this
  job->programDumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1;
  if (!job->programDumpable) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);  // only while it stops us
  if (job->guard) protectGuardedMappings(*job->guard);            // the helper serves the faults
  job->go.store(1, std::memory_order_release);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&job->go), FUTEX_WAKE, 1, nullptr, nullptr, 0);
  bool resumed = waitFlag(job->done, 5'000'000'000ull);
  uint64_t resumedNs = monotonicNs();
  if (!job->programDumpable) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // the helper's, if it died
  // The exit snapshot's content is fixed at the stop: what the program's threads do after
  // it is past the trace's end, and recording it would only have them wait on full rings,
  // which the writer drains after the scan.
  if (trigger == format::SnapshotTrigger::Exit) stopRecording();
  if (!resumed) kill(helper, SIGKILL);  // its tracees are let go when it dies
  close(fds[1]);
  ScanOutcome outcome;
  bool ok = resumed && job->childPid > 0 &&
            copyRecords(fds[0], job->childPid, job->pauseNs, resumedNs, encoder, outcome);
  close(fds[0]);  // a child still writing (the copy gave up) now fails, and exits
  waitpid(helper, nullptr, __WALL);  // with a guard, it served until the child had read
  if (job->childPid > 0 && !outcome.reaped) waitpid(job->childPid, &outcome.status, __WALL);
  if (!ok && !resumed) {
    noteFailure(encoder, format::SnapshotFailure::NotResumed, 0);
  } else if (!ok && job->childPid <= 0) {
    noteFailure(encoder, format::SnapshotFailure::NoScanner, job->childErrno);
  } else if (!ok) {
    noteScanFailure(encoder, outcome);
  }
  return finish(ok);
}

}  // namespace tidemark::preload
