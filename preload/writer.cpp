// The writer thread (see writer.h). It blocks every signal, runs as tracer code (its own
// allocations are never recorded) and is the only user of the chunk encoder.
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <new>

#include "../format/chunk_encoder.h"
#include "../format/packed_writer.h"
#include "module_map.h"
#include "monotonic_clock.h"
#include "process_probe.h"
#include "raw_memory.h"
#include "recorder.h"
#include "ring.h"
#include "snapshot.h"
#include "stack_capture.h"
#include "stack_table.h"
#include "trace_file.h"
#include "tracer.h"

namespace tidemark::preload {
namespace {

using namespace format;

struct WriterState {
  TraceFile sink;
  alignas(ChunkEncoder) unsigned char encoderStorage[sizeof(ChunkEncoder)] = {};
  ChunkEncoder* encoder = nullptr;
  ModuleMap modules;
  pthread_t thread{};
  uint64_t nextSampleUs = 0;
  uint64_t nextFlushUs = 0;
  uint64_t nextSnapshotUs = 0;
  // Stack mappings of ended threads, newest last (the oldest are overwritten).
  static constexpr uint32_t kDeadStacks = 1024;
  StackRange deadStacks[kDeadStacks] = {};
  uint32_t deadStackCount = 0;
  uint32_t deadStackNext = 0;
  uint64_t eventsWritten = 0;
  std::atomic<uint32_t> wakeWord{0};
  std::atomic<bool> sleeping{false};
  std::atomic<uint32_t> rescansRequested{0};
  std::atomic<uint32_t> rescansDone{0};
  std::atomic<uint32_t> snapshotRequest{0};  // a SnapshotTrigger, 0 when none
  std::atomic<uint32_t> execHolds{0};        // threads between an exec's checkpoint and outcome
  std::atomic<uint32_t> heldForExec{0};      // the writer wrote the checkpoint and waits
  std::atomic<uint32_t> stopReason{0};       // 0 while running, else ExitReason
  std::atomic<uint32_t> done{0};
  std::atomic<uint64_t> progress{0};  // bumped as the writer gets on with its work
  bool running = false;
};

constinit WriterState state;

long futex(std::atomic<uint32_t>* word, int op, uint32_t value, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value, timeout, nullptr, 0);
}

uint64_t monotonicUs() { return (monotonicNs() - traceStartMonotonicNs()) / 1000; }

// ----- the trace file -----

bool openTraceFile(uint32_t* generation) {
  char path[4096];
  for (uint32_t attempt = 0; attempt < 1000; ++attempt) {
    int n = attempt == 0 ? snprintf(path, sizeof path, "%s.%s.%d.tmk", options().outputPrefix,
                                    program_invocation_short_name, getpid())
                         : snprintf(path, sizeof path, "%s.%s.%d.%u.tmk", options().outputPrefix,
                                    program_invocation_short_name, getpid(), attempt);
    if (n <= 0 || static_cast<size_t>(n) >= sizeof path) return false;
    int fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      if (!state.sink.adopt(fd, path)) {
        ::close(fd);
        return false;
      }
      // A second program in the same process (exec) finds the first one's file.
      if (*generation == 0) *generation = attempt;
      break;
    }
    if (errno != EEXIST) return false;
  }
  if (!state.sink.isOpen()) return false;
  // `tidemark record -o FILE`: FILE is a second name of the first process's trace from
  // the start, so a viewer can follow it while it grows. Later processes (children, exec'd
  // programs) find the name taken.
  if (const char* exact = options().outputFile) {
    int taken = ::link(path, exact);  // fails (EEXIST) for every later process
    (void)taken;
  }
  if (const char* manifest = options().manifestPath) {
    int fd = ::open(manifest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      size_t length = strlen(path);
      path[length] = '\n';
      ssize_t ignored = ::write(fd, path, length + 1);  // one write: lines never interleave
      (void)ignored;
      ::close(fd);
    }
  }
  return true;
}

void writeProcessInfo(uint32_t generation) {
  static char executable[4096];
  static char commandLine[65536];
  ssize_t exeBytes = readlink("/proc/self/exe", executable, sizeof executable);
  size_t cmdBytes = readProcFile("/proc/self/cmdline", commandLine, sizeof commandLine);
  if (cmdBytes > 0 && commandLine[cmdBytes - 1] == '\0') --cmdBytes;
  ProcessInfoRecord r{};
  r.pointerBytes = sizeof(void*);
  r.pageBytes = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  r.pid = getpid();
  r.parentPid = getppid();
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  r.startRealtimeNs = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + ts.tv_nsec;
  r.startMonotonicNs = traceStartMonotonicNs();
  r.execGeneration = generation;
  std::string_view exe(executable, exeBytes > 0 ? static_cast<size_t>(exeBytes) : 0);
  std::string_view cmd(commandLine, cmdBytes);
  if (state.encoder->beginRecord(RecordKind::ProcessInfo, &r, sizeof r,
                                 8 + exe.size() + cmd.size())) {
    state.encoder->appendString(exe);
    state.encoder->appendString(cmd);
    state.encoder->endRecord();
  }
}

// ----- threads and samples -----

// Writes a ThreadInfo record when the thread's name (from /proc while it runs, else the
// one it left in the ring) differs from what the trace has, or it was never described.
void describeThread(Ring* ring, int32_t tid, uint64_t nowUs) {
  char name[16] = {};
  readThreadName(tid, name);
  if (name[0] == '\0') memcpy(name, ring->ownerName, sizeof name);
  bool known = ring->describedTid == tid;
  if (known && strcmp(name, ring->describedName) == 0) return;
  if (!known && ring->stackHigh == 0) {  // not among findNewStacks' (its thread is newer)
    findMappings(&ring->stackProbe, 1, &ring->stackLow, &ring->stackHigh);
  }
  memcpy(ring->describedName, name, sizeof name);
  ring->describedTid = tid;
  ThreadInfoRecord r{};
  r.timeUs = nowUs;
  r.tid = tid;
  r.stackLow = ring->stackLow;
  r.stackHigh = ring->stackHigh;
  std::string_view text(name, strnlen(name, sizeof name));
  if (state.encoder->beginRecord(RecordKind::ThreadInfo, &r, sizeof r, 4 + text.size())) {
    state.encoder->appendString(text);
    state.encoder->endRecord();
  }
}

// ----- rings -----

bool threadGone(int32_t tid) {
  return syscall(SYS_tgkill, getpid(), tid, 0) != 0 && errno == ESRCH;
}

// A ring whose thread wrote less than this since the last pass (10 ms) gives back the
// pages it drained: a thread that allocates now and then keeps a page or two of its
// ring, not all 1 MiB of it that it touched once (a server's pool of threads that wait).
// A busier ring keeps them: its thread would fault each page in again every time round.
constexpr size_t kSlowRingBytes = 64 * 1024;

// The ring position of the last page boundary at or before `position` (0 when none).
uint64_t pageStartBefore(const Ring* ring, uint64_t position) {
  auto address = reinterpret_cast<uint64_t>(ring->data) + position % Ring::kBytes;
  uint64_t intoPage = address % kPageBytes;
  return position >= intoPage ? position - intoPage : 0;
}

// Gives back the pages of ring positions [from, to) (`to` on a page boundary), drained:
// safe only before the tail passes them, since the thread writes only where it has.
void releaseDrained(Ring* ring, uint64_t from, uint64_t to) {
  size_t at = from % Ring::kBytes;
  size_t first = std::min<size_t>(to - from, Ring::kBytes - at);
  releasePagesWithin(ring->data + at, ring->data + at + first);
  releasePagesWithin(ring->data, ring->data + (to - from - first));
}

void drainRing(Ring* ring, bool checkOrphan) {
  RingState before = ring->state.load(std::memory_order_acquire);
  uint64_t head = ring->head.load(std::memory_order_acquire);
  uint64_t from = ring->drained;
  if (head > from) {
    EventBatchRecord r{};
    r.ring = ring->index;
    size_t n = head - from;
    if (!state.encoder->beginRecord(RecordKind::EventBatch, &r, sizeof r, n)) return;
    size_t at = from % Ring::kBytes;
    size_t first = n < Ring::kBytes - at ? n : Ring::kBytes - at;
    state.encoder->appendBytes(ring->data + at, first);
    state.encoder->appendBytes(ring->data, n - first);
    state.encoder->endRecord();
    ring->drained = head;
    // A slow ring's space goes back to its thread a whole page at a time, given back to
    // the kernel first; the rest of its last page stays the writer's until it is whole.
    uint64_t tail = ring->tail.load(std::memory_order_relaxed);
    uint64_t freeTo = n < kSlowRingBytes ? std::max(tail, pageStartBefore(ring, head)) : head;
    if (n < kSlowRingBytes) releaseDrained(ring, tail, freeTo);
    ring->tail.store(freeTo, std::memory_order_release);
  }
  int32_t tid = ring->tid.load(std::memory_order_acquire);
  bool orphan = checkOrphan && before == RingState::Owned && tid != 0 && threadGone(tid);
  if ((before == RingState::Exited || orphan) &&
      ring->head.load(std::memory_order_acquire) == head) {
    describeThread(ring, tid, monotonicUs());
    if (ring->stackHigh > ring->stackLow) {
      state.deadStacks[state.deadStackNext++ % WriterState::kDeadStacks] = {ring->stackLow,
                                                                            ring->stackHigh};
      if (state.deadStackCount < WriterState::kDeadStacks) ++state.deadStackCount;
    }
    ring->head.store(0, std::memory_order_relaxed);
    ring->tail.store(0, std::memory_order_relaxed);
    ring->drained = 0;
    releasePagesWithin(ring->data, ring->data + Ring::kBytes);  // no thread writes it now
    state.eventsWritten += ring->events.exchange(0, std::memory_order_relaxed);
    ring->describedTid = 0;
    ring->tid.store(0, std::memory_order_relaxed);
    ring->stackLow = ring->stackHigh = 0;
    ring->ownerName[0] = '\0';
    ring->state.store(RingState::Free, std::memory_order_release);
  }
}

// The stacks of the threads not described yet, from one read of the maps for them all:
// a program that starts a thread per request (thousands a second) would otherwise have
// the writer read all its maps once per thread (70 % of the writer's time, measured).
// Each of these threads ran before the read, so its stack was mapped by then.
void findNewStacks() {
  static uintptr_t probes[RingRegistry::kMaxRings];
  static uint64_t lows[RingRegistry::kMaxRings];
  static uint64_t highs[RingRegistry::kMaxRings];
  static Ring* found[RingRegistry::kMaxRings];
  uint32_t count = 0;
  uint32_t n = rings.count();
  for (uint32_t i = 0; i < n; ++i) {
    Ring* ring = rings.at(i);
    if (!ring || ring->state.load(std::memory_order_acquire) == RingState::Free) continue;
    int32_t tid = ring->tid.load(std::memory_order_acquire);
    if (tid == 0 || ring->describedTid == tid || ring->stackHigh != 0) continue;
    found[count] = ring;
    probes[count] = ring->stackProbe;
    lows[count] = highs[count] = 0;
    ++count;
  }
  if (count == 0) return;
  findMappings(probes, count, lows, highs);
  for (uint32_t i = 0; i < count; ++i) {
    found[i]->stackLow = lows[i];
    found[i]->stackHigh = highs[i];
  }
}

void drainRings(bool checkOrphans) {
  findNewStacks();
  uint32_t n = rings.count();
  for (uint32_t i = 0; i < n; ++i) {
    if (Ring* ring = rings.at(i)) drainRing(ring, checkOrphans);
  }
  noteWriterProgress();
}

void writeSample(uint64_t nowUs) {
  static ThreadStackSample stacks[RingRegistry::kMaxRings];
  uint32_t threads = 0;
  uint32_t n = rings.count();
  for (uint32_t i = 0; i < n; ++i) {
    Ring* ring = rings.at(i);
    if (!ring || ring->state.load(std::memory_order_acquire) != RingState::Owned) continue;
    int32_t tid = ring->tid.load(std::memory_order_acquire);
    if (tid == 0) continue;            // not bound yet
    describeThread(ring, tid, nowUs);  // threads often name themselves after they start
    stacks[threads++] = {tid, 0, residentBytes(ring->stackLow, ring->stackHigh)};
  }
  ProcessSampleRecord r{};
  r.timeUs = nowUs;
  r.rssBytes = residentSetBytes();
  struct mallinfo2 info = mallinfo2();
  r.heapInUseBytes = info.uordblks + info.hblkhd;
  r.threadCount = threads;
  if (state.encoder->beginRecord(RecordKind::ProcessSample, &r, sizeof r,
                                 threads * sizeof(ThreadStackSample))) {
    state.encoder->appendBytes(stacks, threads * sizeof(ThreadStackSample));
    state.encoder->endRecord();
  }
}

void writeTrailer(ExitReason reason, uint64_t nowUs) {
  uint32_t n = rings.count();
  uint64_t events = state.eventsWritten;
  for (uint32_t i = 0; i < n; ++i) {
    if (Ring* ring = rings.at(i)) events += ring->events.load(std::memory_order_relaxed);
  }
  TrailerRecord r{};
  r.timeUs = nowUs;
  r.events = events;
  r.droppedEvents = droppedEvents();
  r.stacks = stackTable().count();
  r.exitReason = static_cast<uint32_t>(reason);
  if (state.encoder->beginRecord(RecordKind::Trailer, &r, sizeof r, 0)) state.encoder->endRecord();
}

// ----- the thread -----

// Compression effort goes where it pays: events with random addresses and sizes hardly
// compress at any level, and a higher level then only takes CPU from the program (on
// alloc_bench's mixed sizes level 3 took 25 % more time than level 1 for 1 % less
// size; on fixed sizes it halves the trace).
void adaptCompression() {
  size_t raw = state.encoder->lastRawBytes();
  size_t compressed = state.encoder->lastCompressedBytes();
  if (raw < 64 * 1024 || compressed == 0) return;  // too small a chunk to judge
  bool pays = raw >= 2 * compressed;
  state.encoder->setCompressionLevel(pays ? static_cast<int>(options().compressionLevel) : 1);
}

void finishTrace(ExitReason reason) {
  uint64_t now = monotonicUs();
  drainRings(false);
  // A snapshot asked for just before the end is still taken.
  if (uint32_t trigger = state.snapshotRequest.exchange(0); trigger && snapshotsEnabled()) {
    takeSnapshot(static_cast<SnapshotTrigger>(trigger), now, *state.encoder, state.deadStacks,
                 state.deadStackCount);
    now = monotonicUs();
  }
  // Every ending but exec, which hands the memory back: a signal's default action (and
  // abort's) ends a server as surely as exit() does, and valgrind checks for leaks then too.
  if (snapshotsEnabled() && options().snapshotAtExit && reason != ExitReason::Exec) {
    takeSnapshot(SnapshotTrigger::Exit, now, *state.encoder, state.deadStacks,
                 state.deadStackCount);
    now = monotonicUs();
  }
  // The exit snapshot's stop ended recording; without one, it ends here.
  stopRecording();
  drainRings(false);
  state.modules.rescan(*state.encoder, now);
  writeSample(now);
  writeTrailer(reason, now);
  state.encoder->flush();
  state.sink.close();
  if (options().verifyUnwind) {
    char line[160];
    int n = snprintf(line, sizeof line,
                     "tidemark: unwind check: %llu stacks compared with libunwind, %llu differed\n",
                     static_cast<unsigned long long>(verifiedCaptures()),
                     static_cast<unsigned long long>(mismatchedCaptures()));
    writeToStderr(line, static_cast<size_t>(n));
  }
}

// A write failed (disk full, file size limit, quota, I/O error): every chunk before the
// failing one is intact. Recording stops so that no thread waits for rings nobody drains;
// the program itself runs on untouched. The file is cut back to its last whole chunk,
// which makes room for a trailer that says why the trace ends there (when even that does
// not fit, the file is cut back again, and the reader sees a trace without its end).
void giveUpWriting() {
  int error = state.sink.error() ? state.sink.error() : EIO;
  disableAfterWriteFailure();
  if (state.sink.cutToLastWhole()) {
    state.encoder->discardAfterFailure();
    writeTrailer(tracingStoppedBy(error), monotonicUs());
    if (!state.encoder->flush()) state.sink.cutToLastWhole();
  }
  char line[256];
  int n = snprintf(line, sizeof line,
                   "tidemark: cannot write the trace of pid %d (%s); tracing stopped, the trace "
                   "ends at its last whole chunk\n",
                   getpid(), strerror(error));
  writeToStderr(line, static_cast<size_t>(n));
  state.sink.close();
  state.done.store(1, std::memory_order_release);
  futex(&state.done, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);
}

// A thread is about to exec: what happened so far goes to the file, ending in a trailer
// that says exec (should the exec succeed, nothing comes after it), and nothing more is
// written until the exec has failed (every hold is released) or the trace ends.
void holdForExec() {
  uint64_t now = monotonicUs();
  drainRings(false);
  state.modules.rescan(*state.encoder, now);
  writeSample(now);
  writeTrailer(ExitReason::Exec, now);
  state.encoder->flush();
  state.heldForExec.store(1, std::memory_order_release);
  futex(&state.heldForExec, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);
  while (state.execHolds.load(std::memory_order_acquire) != 0 &&
         state.stopReason.load(std::memory_order_acquire) == 0) {
    timespec timeout{0, 10'000'000};
    uint32_t word = state.wakeWord.load(std::memory_order_acquire);
    if (state.execHolds.load(std::memory_order_acquire) == 0) break;
    futex(&state.wakeWord, FUTEX_WAIT_PRIVATE, word, &timeout);
  }
  state.heldForExec.store(0, std::memory_order_release);
}

// The program's threads are all gone, yet the process lives on: its main thread left by
// pthread_exit and the last of the others ended, where glibc calls exit(0) once no thread
// it created is left, and the writer is one. No ring is held then; /proc says for sure.
bool programThreadsGone() {
  return !rings.anyOwned() && !otherThreadRuns(static_cast<int32_t>(gettid()));
}

enum class WriterEnd { TraceFinished, ProgramGone };

WriterEnd runWriter() {
  TracerScope scope;  // nothing this thread allocates is traced
  // Every signal blocked but the snapshot signal: `tidemark snapshot PID` sends it to this
  // thread (found by its name), so no thread of the program is interrupted by it.
  sigset_t all;
  sigfillset(&all);
  if (options().snapshotSignal) sigdelset(&all, static_cast<int>(options().snapshotSignal));
  pthread_sigmask(SIG_SETMASK, &all, nullptr);
  prctl(PR_SET_NAME, "tidemark-writer");
  const uint64_t sampleUs = options().sampleIntervalMs * 1000ull;
  const uint64_t flushUs = options().flushIntervalMs * 1000ull;
  const uint64_t snapshotUs = options().snapshotIntervalMs * 1000ull;
  state.nextSnapshotUs = snapshotUs;
  while (state.stopReason.load(std::memory_order_acquire) == 0 && !state.encoder->failed()) {
    timespec timeout{0, 10'000'000};
    state.sleeping.store(true, std::memory_order_seq_cst);
    uint32_t word = state.wakeWord.load(std::memory_order_acquire);
    futex(&state.wakeWord, FUTEX_WAIT_PRIVATE, word, &timeout);
    state.sleeping.store(false, std::memory_order_relaxed);
    if (state.execHolds.load(std::memory_order_acquire) != 0) {
      holdForExec();
      continue;
    }
    uint64_t now = monotonicUs();
    bool sampleDue = now >= state.nextSampleUs;
    drainRings(sampleDue);
    uint32_t requested = state.rescansRequested.load(std::memory_order_acquire);
    if (requested != state.rescansDone.load(std::memory_order_relaxed)) {
      state.modules.rescan(*state.encoder, now);
      state.rescansDone.store(requested, std::memory_order_release);
      futex(&state.rescansDone, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);
    }
    if (sampleDue) {
      writeSample(now);
      state.nextSampleUs = now + sampleUs;
    }
    if (uint32_t trigger = state.snapshotRequest.exchange(0); trigger && snapshotsEnabled()) {
      takeSnapshot(static_cast<SnapshotTrigger>(trigger), now, *state.encoder, state.deadStacks,
                   state.deadStackCount);
    }
    if (snapshotUs && now >= state.nextSnapshotUs && snapshotsEnabled()) {
      takeSnapshot(SnapshotTrigger::Periodic, now, *state.encoder, state.deadStacks,
                   state.deadStackCount);
      state.nextSnapshotUs = monotonicUs() + snapshotUs;
    }
    if (now >= state.nextFlushUs ||
        state.encoder->bufferedBytes() > ChunkEncoder::kRawCapacity / 2) {
      state.encoder->flush();
      adaptCompression();
      state.nextFlushUs = now + flushUs;
    }
    if (programThreadsGone()) return WriterEnd::ProgramGone;
  }
  if (state.encoder->failed()) {
    giveUpWriting();
    return WriterEnd::TraceFinished;
  }
  finishTrace(static_cast<ExitReason>(state.stopReason.load()));
  state.done.store(1, std::memory_order_release);
  futex(&state.done, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);
  return WriterEnd::TraceFinished;
}

void* writerMain(void*) {
  // With the program's threads gone, this thread does what glibc does in the last of
  // them: exit(0). The program's exit handlers run here, traced as the program's own;
  // the tracer's ends the trace on this thread (stopWriter).
  if (runWriter() == WriterEnd::ProgramGone) exit(0);
  return nullptr;
}

}  // namespace

// A forked child's trace starts with what it has from its parent: the definition of every
// stack interned so far, then every live block as an Alloc marked Inherited, in batches
// of a ring index no thread uses. Runs while the child has a single thread.
void writeInheritedHeap(uint64_t tid) {
  constexpr uint32_t kInheritedRing = UINT32_MAX;
  constexpr size_t kBatchBytes = 64 * 1024;
  const size_t capacity = kBatchBytes + PackedWriter::maxStackBytes(kMaxStackDepth);
  auto* buffer = static_cast<uint8_t*>(mapPages(capacity));
  if (!buffer) return;
  PackedWriter packer;
  uint8_t* at = packer.threadAttach(buffer, static_cast<int32_t>(tid));
  at = packer.time(at, 0);
  auto flush = [&] {
    EventBatchRecord r{};
    r.ring = kInheritedRing;
    size_t n = static_cast<size_t>(at - buffer);
    if (n && state.encoder->beginRecord(RecordKind::EventBatch, &r, sizeof r, n)) {
      state.encoder->appendBytes(buffer, n);
      state.encoder->endRecord();
    }
    at = buffer;
  };
  stackTable().forEach([&](uint32_t id, const uintptr_t* ips, uint32_t depth) {
    if (static_cast<size_t>(at - buffer) >= kBatchBytes) flush();
    at = PackedWriter::stack(at, id, ips, depth);
  });
  for (uint32_t i = 0; i < rings.count(); ++i) {
    if (const Ring* ring = rings.at(i)) {
      ring->blocks.forEach([&](const LiveBlock& b) {
        if (static_cast<size_t>(at - buffer) >= kBatchBytes) flush();
        at = packer.alloc(at, AllocFunction::Inherited, b.address, b.size, b.stack);
      });
    }
  }
  flush();
  unmapPages(buffer, capacity);
}

bool startWriter(uint32_t execGeneration, bool inheritedHeap) {
  state.stopReason.store(0);
  state.done.store(0);
  state.rescansDone.store(state.rescansRequested.load());
  state.eventsWritten = 0;
  state.nextSampleUs = state.nextFlushUs = 0;
  state.modules.clear();
  state.deadStackCount = state.deadStackNext = 0;
  if (!openTraceFile(&execGeneration)) return false;
  state.encoder = new (state.encoderStorage) ChunkEncoder;
  static const EncoderMemory arena{mapPages, unmapPages};
  if (!state.encoder->open(&state.sink, static_cast<int>(options().compressionLevel), &arena)) {
    return false;
  }
  writeProcessInfo(execGeneration);
  state.modules.rescan(*state.encoder, 0);
  if (inheritedHeap) writeInheritedHeap(static_cast<uint64_t>(syscall(SYS_gettid)));
  state.encoder->flush();
  // Created with the real pthread_create: the writer is tracer code and never traced.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  state.running = pthread_create(&state.thread, &attr, writerMain, nullptr) == 0;
  pthread_attr_destroy(&attr);
  return state.running;
}

void wakeWriter() {
  // A plain read first: owners call this often while their ring is half full, and an
  // exchange on every call would bounce the flag's cache line between cores.
  if (state.sleeping.load(std::memory_order_relaxed) &&
      state.sleeping.exchange(false, std::memory_order_seq_cst)) {
    state.wakeWord.fetch_add(1, std::memory_order_release);
    futex(&state.wakeWord, FUTEX_WAKE_PRIVATE, 1, nullptr);
  }
}

void requestSnapshot(SnapshotTrigger trigger) {
  state.snapshotRequest.store(static_cast<uint32_t>(trigger), std::memory_order_release);
  state.wakeWord.fetch_add(1, std::memory_order_release);
  futex(&state.wakeWord, FUTEX_WAKE_PRIVATE, 1, nullptr);
}

void requestModuleRescan() {
  state.rescansRequested.fetch_add(1, std::memory_order_acq_rel);
  wakeWriter();
}

void syncModuleMap() {
  if (!state.running) return;
  uint32_t wanted = state.rescansRequested.fetch_add(1, std::memory_order_acq_rel) + 1;
  state.wakeWord.fetch_add(1, std::memory_order_release);
  futex(&state.wakeWord, FUTEX_WAKE_PRIVATE, 1, nullptr);
  for (int i = 0; i < 20; ++i) {
    uint32_t done = state.rescansDone.load(std::memory_order_acquire);
    if (static_cast<int32_t>(done - wanted) >= 0) return;
    timespec timeout{0, 50'000'000};
    futex(&state.rescansDone, FUTEX_WAIT_PRIVATE, done, &timeout);
  }
}

namespace {

// How long waitForWriter waits for a writer that makes no progress: 50 ms slices. A
// snapshot's child writes nothing while it sorts and indexes the live blocks (part of the
// 3 s scan of 16.8M blocks measured in docs/performance.md).
constexpr int kPatienceSlices = 200;

// Wakes the writer and waits until it sets `flag`. Bounded: a writer stuck on a dead disk
// must not hang the program's exit or exec; one busy with a long snapshot is waited for.
void waitForWriter(std::atomic<uint32_t>& flag) {
  state.wakeWord.fetch_add(1, std::memory_order_release);
  futex(&state.wakeWord, FUTEX_WAKE_PRIVATE, 1, nullptr);
  uint64_t seen = state.progress.load(std::memory_order_relaxed);
  for (int idle = 0; idle < kPatienceSlices && flag.load(std::memory_order_acquire) == 0;) {
    timespec timeout{0, 50'000'000};
    futex(&flag, FUTEX_WAIT_PRIVATE, 0, &timeout);
    uint64_t now = state.progress.load(std::memory_order_relaxed);
    idle = now == seen ? idle + 1 : 0;
    seen = now;
  }
}

}  // namespace

void stopWriter(ExitReason reason) {
  if (!state.running) return;
  if (pthread_equal(pthread_self(), state.thread)) {  // the writer ends the program (writerMain)
    finishTrace(reason);
    state.running = false;
    return;
  }
  state.stopReason.store(static_cast<uint32_t>(reason), std::memory_order_release);
  waitForWriter(state.done);
  state.running = false;
}

void holdWriterForExec() {
  if (!state.running) return;
  state.execHolds.fetch_add(1, std::memory_order_acq_rel);
  waitForWriter(state.heldForExec);
}

void releaseWriterAfterExec() {
  if (!state.running) return;
  state.execHolds.fetch_sub(1, std::memory_order_acq_rel);
  state.wakeWord.fetch_add(1, std::memory_order_release);
  futex(&state.wakeWord, FUTEX_WAKE_PRIVATE, 1, nullptr);
}

void noteWriterProgress() { state.progress.fetch_add(1, std::memory_order_relaxed); }

void abandonWriterAfterFork() {
  state.sink.close();  // the parent's file: never written here
  state.running = false;
  if (state.encoder) state.encoder->~ChunkEncoder();
  state.encoder = nullptr;
}

}  // namespace tidemark::preload
