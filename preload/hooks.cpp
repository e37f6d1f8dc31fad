// Every symbol libtidemark_preload.so interposes. A hook calls the real function and
// records one event; it never allocates, never locks, and records a free before the real
// free so the address cannot be handed out again in between. All real work is elsewhere.
#include <dlfcn.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <new>

#include "allocator_mappings.h"
#include "cxx_runtime.h"
#include "fatal_signals.h"
#include "heap_guard.h"
#include "mapping_changes.h"
#include "program_signals.h"
#include "real_functions.h"
#include "recorder.h"
#include "signal_deferral.h"
#include "stack_capture.h"
#include "tracer.h"
#include "wait_deadline.h"
#include "writer.h"

using tidemark::format::AllocFunction;
using tidemark::format::ExitReason;
namespace tp = tidemark::preload;

namespace {

// Before the constructor ran (another library's constructor allocating), or while dlsym
// resolves the real functions, allocations come from the bootstrap pool.
template <typename Fn>
bool haveReal(Fn* fn) {
  if (!*fn) tp::resolveRealFunctions();
  return *fn != nullptr;
}

void noteChange(tp::MappingChange change, const void* address, size_t length) {
  tp::noteMappingChange(change, reinterpret_cast<uint64_t>(address), length);
}

// A change noted before its system call, which then failed: the snapshot lists again.
void noteFailure(const void* address) { noteChange(tp::MappingChange::Failed, address, 0); }

// One try of the allocator behind operator new; nullptr when it has no memory.
void* tryNew(size_t size, AllocFunction function) {
  void* p = haveReal(&tp::real.malloc) ? tp::callAllocator(tp::real.malloc, size)
                                       : tp::bootstrapAllocate(size);
  if (p) tp::recordAlloc(function, p, size);
  return p;
}

void* tryNewAligned(size_t size, size_t alignment, AllocFunction function) {
  void* p = nullptr;
  if (!haveReal(&tp::real.posix_memalign) ||
      tp::callAllocator(tp::real.posix_memalign, &p,
                        alignment < sizeof(void*) ? sizeof(void*) : alignment, size) != 0) {
    return nullptr;
  }
  tp::recordAlloc(function, p, size);
  return p;
}

// The throwing operator new's loop: try, call the new-handler, try again; bad_alloc when
// there is no handler. The exception passes through the tracer's frames (built without
// exceptions: nothing of ours to clean up) to the program.
template <typename Attempt>
void* newHandlerLoop(Attempt&& attempt) {
  for (;;) {
    if (void* p = attempt()) return p;
    std::new_handler handler = tp::currentNewHandler();
    if (!handler) tp::throwBadAlloc();
    handler();
  }
}

void* allocateNew(size_t size, AllocFunction function) {
  return newHandlerLoop([&] { return tryNew(size, function); });
}

void* allocateNewAligned(size_t size, size_t alignment, AllocFunction function) {
  return newHandlerLoop([&] { return tryNewAligned(size, alignment, function); });
}

// Puts errno back as it was when the scope ends: the guard's page copies may fail (memory
// already gone), and the program's errno stays its own (glibc keeps it across free).
class SavedErrno {
 public:
  ~SavedErrno() { errno = saved_; }

 private:
  int saved_ = errno;
};

// While a guarded snapshot's scan runs, memory about to be unmapped, replaced, moved or
// discarded keeps its content at the stop for the child (heap_guard.h).
void keepRangeForScan(const void* address, size_t length) {
  if (!tp::guardedScanRunning()) return;
  SavedErrno kept;
  auto begin = reinterpret_cast<uint64_t>(address);
  tp::keepForGuardedScan(begin, begin + length);
}

// ... and so does a block about to be freed: the allocator may give its memory back.
void keepForScan(void* p) {
  if (tp::guardedScanRunning() && haveReal(&tp::real.malloc_usable_size)) {
    keepRangeForScan(p, tp::real.malloc_usable_size(p));
  }
}

// After such a call: writes the guard's helper could not let through meanwhile go now.
void letGuardedWritesThrough() {
  if (!tp::guardedScanRunning()) return;
  SavedErrno kept;
  tp::letWaitingWritesThrough();
}

// The advice that takes a range's content away.
bool discards(int advice) {
  constexpr int kDontNeedLocked = 24;  // Linux 5.18; Debian 12's headers predate it
  return advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE ||
         advice == kDontNeedLocked;
}

// The allocator hands freed memory out again uninitialized: a block freed while it held
// the only pointer to another, reused for the next block of its size, would keep that
// other block reachable to the scan (memcheck ignores such words: never written since the
// allocation, they are undefined to it). Zeroing freed blocks takes those words away. The
// first two words are left: free writes its cache link and key there anyway, and glibc knows a
// second free of the block by that key (a block freed twice must still abort there).
// Blocks of 128 KiB or more are left alone: glibc maps most of them, and unmaps them.
// Only a block the tracer knows is live: a pointer the program frees twice, or that malloc
// never returned, goes to free untouched, which says so (and aborts) as it would have.
void clearFreedBlock(void* p) {
  constexpr size_t kAllocatorBytes = 16;
  size_t bytes = tp::real.malloc_usable_size(p);
  if (bytes > kAllocatorBytes && bytes < 128 * 1024) {
    memset(static_cast<char*>(p) + kAllocatorBytes, 0, bytes - kAllocatorBytes);
  }
}

void release(void* p, AllocFunction function) noexcept {
  if (!p || tp::isBootstrapBlock(p)) return;
  keepForScan(p);
  if (tp::recordFree(function, p) && tp::clearingFreedBlocks()) clearFreedBlock(p);
  if (haveReal(&tp::real.free)) tp::callAllocator(tp::real.free, p);
}

void* recorded(void* p, size_t size) {
  if (p) tp::recordAlloc(AllocFunction::Malloc, p, size);
  return p;
}

// Calls a wait whose timeout (ms) a snapshot's restart must not stretch.
template <typename Fn, typename... Args>
int timedWait(Fn* fn, int timeoutMs, Args... args) {
  if (!haveReal(fn)) {
    errno = ENOSYS;
    return -1;
  }
  tp::WaitDeadline deadline(timeoutMs);
  return (*fn)(args...);
}

// With --no-follow-exec, the new program runs without the tracer: LD_PRELOAD is left out
// of its environment (on the stack; an environment too large keeps it).
char* const* environmentForExec(char* const* envp, char** scratch, size_t capacity) {
  if (tp::options().followExec || !envp) return envp;
  size_t n = 0;
  for (char* const* e = envp; *e; ++e) {
    if (strncmp(*e, "LD_PRELOAD=", 11) == 0) continue;
    if (n + 1 >= capacity) return envp;
    scratch[n++] = *e;
  }
  scratch[n] = nullptr;
  return scratch;
}

// The trace of this program ends at an exec, and the next program starts its own; unless
// the exec fails, and this program goes on (its trace too).
template <typename Exec, typename... Args>
int traceExec(Exec* exec, Args... args) {
  bool held = tp::checkpointBeforeExec();
  int result = exec(args...);
  SavedErrno kept;
  if (held) tp::afterExecFailed();
  return result;
}

}  // namespace

extern "C" {

// libc's registration of exit handlers; with no DSO handle, a handler is not run with its
// library's destructors but in exit's own last-in, first-out order.
int __cxa_atexit(void (*handler)(void*), void* argument, void* dso);

// The trace of a process that exits ends after every atexit handler and destructor of the
// program and its libraries, as memcheck's leak check comes after them: the exit snapshot
// does not count as live what a library's destructor frees. Registered by the constructor
// (which runs before the program starts), this handler precedes libc's registration of
// the loader's destructor runner (_dl_fini), so runs after it.
static void finishAtExit(void*) { tp::finishTracer(ExitReason::Normal); }

// glibc passes every constructor the program's arguments and environment (tracer.h).
__attribute__((constructor(101))) static void tidemarkConstructor(int, char** argv, char** envp) {
  tp::startTracer(argv, envp);
  __cxa_atexit(finishAtExit, nullptr, nullptr);
}

void* malloc(size_t size) {
  if (!haveReal(&tp::real.malloc)) return tp::bootstrapAllocate(size);
  return recorded(tp::callAllocator(tp::real.malloc, size), size);
}

void free(void* p) { release(p, AllocFunction::Malloc); }

void* calloc(size_t count, size_t size) {
  if (!haveReal(&tp::real.calloc)) {
    size_t total;
    return __builtin_mul_overflow(count, size, &total) ? nullptr : tp::bootstrapAllocate(total);
  }
  return recorded(tp::callAllocator(tp::real.calloc, count, size), count * size);
}

void* realloc(void* old, size_t size) {
  if (old && tp::isBootstrapBlock(old)) {
    void* p = malloc(size);
    size_t available = tp::bootstrapBytesFrom(old);
    if (p) memcpy(p, old, size < available ? size : available);
    return p;
  }
  if (!haveReal(&tp::real.realloc)) return nullptr;
  if (!old) return recorded(tp::callAllocator(tp::real.realloc, nullptr, size), size);
  keepForScan(old);
  tp::ReallocSource source = tp::takeReallocSource(old);
  void* p = tp::callAllocator(tp::real.realloc, old, size);
  if (p) {
    tp::recordRealloc(old, p, size, source);
  } else if (size == 0) {
    tp::recordReallocFree(old, source);  // glibc frees the block and returns NULL
  } else {
    tp::restoreReallocSource(source);
  }
  return p;
}

void* reallocarray(void* old, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(old, total);
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  if (!haveReal(&tp::real.posix_memalign)) return ENOMEM;
  int result = tp::callAllocator(tp::real.posix_memalign, out, alignment, size);
  if (result == 0) recorded(*out, size);
  return result;
}

void* aligned_alloc(size_t alignment, size_t size) {
  if (!haveReal(&tp::real.aligned_alloc)) return nullptr;
  return recorded(tp::callAllocator(tp::real.aligned_alloc, alignment, size), size);
}

void* memalign(size_t alignment, size_t size) {
  if (!haveReal(&tp::real.memalign)) return nullptr;
  return recorded(tp::callAllocator(tp::real.memalign, alignment, size), size);
}

void* valloc(size_t size) {
  if (!haveReal(&tp::real.valloc)) return nullptr;
  return recorded(tp::callAllocator(tp::real.valloc, size), size);
}

void* pvalloc(size_t size) {
  if (!haveReal(&tp::real.pvalloc)) return nullptr;
  return recorded(tp::callAllocator(tp::real.pvalloc, size), size);
}

void* mmap(void* address, size_t length, int protection, int flags, int fd, off_t offset) {
  if (!haveReal(&tp::real.mmap)) return MAP_FAILED;
  if (flags & MAP_FIXED) {
    keepRangeForScan(address, length);
    noteChange(tp::MappingChange::Unmapped, address, length);  // replaced
  }
  void* p = tp::real.mmap(address, length, protection, flags, fd, offset);
  if (p == MAP_FAILED) {
    if (flags & MAP_FIXED) noteFailure(address);
    return p;
  }
  noteChange(tp::MappingChange::Mapped, p, length);
  auto begin = reinterpret_cast<uint64_t>(p);
  if (!(flags & MAP_ANONYMOUS)) return p;  // file mappings are not heap
  if (tp::insideAllocator()) {
    tp::addAllocatorMapping(begin, begin + length);  // the allocator's heap, not a root
  } else {
    tp::recordMmap(p, length);  // the program's own (one made inside the tracer is not)
  }
  return p;
}

void* mmap64(void* address, size_t length, int protection, int flags, int fd, off_t offset)
    __attribute__((alias("mmap")));

int munmap(void* address, size_t length) {
  if (!haveReal(&tp::real.munmap)) return -1;
  keepRangeForScan(address, length);
  tp::recordMunmap(address, length);
  noteChange(tp::MappingChange::Unmapped, address, length);
  auto begin = reinterpret_cast<uint64_t>(address);
  tp::trimAllocatorMappings(begin, begin + length);
  int result = tp::real.munmap(address, length);
  if (result != 0) noteFailure(address);
  letGuardedWritesThrough();
  return result;
}

void* mremap(void* old, size_t oldLength, size_t newLength, int flags, ...) {
  if (!haveReal(&tp::real.mremap)) return MAP_FAILED;
  void* target = nullptr;
  if (flags & MREMAP_FIXED) {
    va_list args;
    va_start(args, flags);
    target = va_arg(args, void*);
    va_end(args);
    keepRangeForScan(target, newLength);
    noteChange(tp::MappingChange::Unmapped, target, newLength);
  }
  keepRangeForScan(old, oldLength);
  noteChange(tp::MappingChange::Moved, old, oldLength);
  void* p = tp::real.mremap(old, oldLength, newLength, flags, target);
  if (p == MAP_FAILED && (flags & MREMAP_FIXED)) noteFailure(target);
  letGuardedWritesThrough();
  if (p != MAP_FAILED) {
    tp::recordMunmap(old, oldLength);
    noteChange(tp::MappingChange::Mapped, p, newLength);
    auto from = reinterpret_cast<uint64_t>(old), to = reinterpret_cast<uint64_t>(p);
    tp::trimAllocatorMappings(from, from + oldLength);
    if (tp::insideAllocator()) {
      tp::addAllocatorMapping(to, to + newLength);
    } else {
      tp::recordMmap(p, newLength);
    }
  }
  return p;
}

// A raw system call, as glibc's madvise is: nothing to resolve before the first call.
int madvise(void* address, size_t length, int advice) {
  if (discards(advice)) keepRangeForScan(address, length);
  if (advice == MADV_DONTFORK || advice == MADV_DOFORK) {
    noteChange(advice == MADV_DONTFORK ? tp::MappingChange::DontFork : tp::MappingChange::DoFork,
               address, length);
  }
  // syscall() sets errno and returns -1 on failure, as madvise does.
  if (syscall(SYS_madvise, address, length, advice) == 0) {
    if (discards(advice)) letGuardedWritesThrough();
    return 0;
  }
  // ENOMEM: a hole in the range, the rest changed as noted.
  if ((advice == MADV_DONTFORK || advice == MADV_DOFORK) && errno != ENOMEM) {
    noteFailure(address);
  }
  return -1;
}

// Timed waits note their deadline, so that a snapshot's restart keeps it (wait_deadline.h).
int epoll_wait(int epfd, epoll_event* events, int maxEvents, int timeoutMs) {
  return timedWait(&tp::real.epoll_wait, timeoutMs, epfd, events, maxEvents, timeoutMs);
}

int epoll_pwait(int epfd, epoll_event* events, int maxEvents, int timeoutMs, const sigset_t* mask) {
  return timedWait(&tp::real.epoll_pwait, timeoutMs, epfd, events, maxEvents, timeoutMs, mask);
}

int epoll_pwait2(int epfd, epoll_event* events, int maxEvents, const timespec* timeout,
                 const sigset_t* mask) {
  if (!haveReal(&tp::real.epoll_pwait2)) {
    errno = ENOSYS;
    return -1;
  }
  if (!timeout) return tp::real.epoll_pwait2(epfd, events, maxEvents, nullptr, mask);
  timespec left = *timeout;  // the helper shortens this copy when it restarts the call
  tp::WaitDeadline deadline(&left);
  return tp::real.epoll_pwait2(epfd, events, maxEvents, &left, mask);
}

void* dlopen(const char* file, int mode) {
  if (!haveReal(&tp::real.dlopen)) return nullptr;
  void* handle;
  {
    tp::SignalDeferral loaderLocked(tp::kLoaderSection);
    handle = tp::real.dlopen(file, mode);
  }
  if (handle) {
    tp::TracerScope untraced;  // a failed dlsym allocates its message
    tp::resolveCxxRuntime();
  }
  if (handle && tp::tracing()) tp::requestModuleRescan();
  return handle;
}

int dlclose(void* handle) {
  if (!haveReal(&tp::real.dlclose)) return -1;
  if (tp::tracing()) tp::syncModuleMap();  // the object must be in the trace before it goes
  int result;
  {
    tp::SignalDeferral loaderLocked(tp::kLoaderSection);
    result = tp::real.dlclose(handle);
  }
  tp::forgetFrameRules();  // other code may be mapped where the closed object was
  if (tp::tracing()) tp::requestModuleRescan();
  return result;
}

int execve(const char* path, char* const argv[], char* const envp[]) {
  if (!haveReal(&tp::real.execve)) return -1;
  char* scratch[1024];
  char* const* env = environmentForExec(envp, scratch, 1024);
  return traceExec(tp::real.execve, path, argv, env);
}

int execv(const char* path, char* const argv[]) { return execve(path, argv, environ); }

int execvpe(const char* file, char* const argv[], char* const envp[]) {
  if (!haveReal(&tp::real.execvpe)) return -1;
  char* scratch[1024];
  char* const* env = environmentForExec(envp, scratch, 1024);
  return traceExec(tp::real.execvpe, file, argv, env);
}

int execvp(const char* file, char* const argv[]) { return execvpe(file, argv, environ); }

// The execl family calls glibc's internal execve, which no hook sees: collect the
// arguments (on the stack, as glibc does) and go through the hooks above.
#define TIDEMARK_COLLECT_EXECL_ARGS(first, args, argv)        \
  char* argv[4096];                                           \
  size_t argc = 0;                                            \
  argv[argc++] = const_cast<char*>(first);                    \
  while (argc < 4096 && (argv[argc] = va_arg(args, char*))) { \
    ++argc;                                                   \
  }                                                           \
  if (argc == 4096) {                                         \
    va_end(args);                                             \
    errno = E2BIG;                                            \
    return -1;                                                \
  }

int execl(const char* path, const char* arg, ...) {
  va_list args;
  va_start(args, arg);
  TIDEMARK_COLLECT_EXECL_ARGS(arg, args, argv)
  va_end(args);
  return execve(path, argv, environ);
}

int execlp(const char* file, const char* arg, ...) {
  va_list args;
  va_start(args, arg);
  TIDEMARK_COLLECT_EXECL_ARGS(arg, args, argv)
  va_end(args);
  return execvpe(file, argv, environ);
}

int execle(const char* path, const char* arg, ...) {
  va_list args;
  va_start(args, arg);
  TIDEMARK_COLLECT_EXECL_ARGS(arg, args, argv)
  char* const* envp = va_arg(args, char* const*);
  va_end(args);
  return execve(path, argv, envp);
}

void _exit(int status) {
  tp::finishTracer(ExitReason::FastExit);
  if (haveReal(&tp::real._exit)) tp::real._exit(status);
  __builtin_trap();
}

void _Exit(int status) __attribute__((alias("_exit")));

void abort() {
  tp::finishTracer(ExitReason::Abort);
  if (haveReal(&tp::real.abort)) tp::real.abort();
  __builtin_trap();
}

// fork holds every malloc arena's lock while it copies the process: a fatal signal then
// waits until it returns (signal_deferral.h).
pid_t fork() {
  if (!haveReal(&tp::real.fork)) {
    errno = ENOSYS;
    return -1;
  }
  tp::SignalDeferral arenasLocked(tp::kLoaderSection);
  return tp::real.fork();
}

// A program that handles a fatal signal and then raises it again with the default action
// back (Node.js does) ends here: the trace is finished first.
int raise(int number) {
  tp::beforeRaise(number);
  if (!haveReal(&tp::real.raise)) return -1;
  return tp::real.raise(number);
}

// The program's actions, as it sees them; the kernel holds the tracer's stand-ins for
// some (program_signals.h).
int sigaction(int number, const struct sigaction* action, struct sigaction* old) {
  if (!haveReal(&tp::real.sigaction)) {
    errno = ENOSYS;
    return -1;
  }
  return tp::setProgramAction(number, action, old);
}

sighandler_t signal(int number, sighandler_t handler) {
  if (!haveReal(&tp::real.sigaction)) return SIG_ERR;
  return tp::setProgramHandler(number, handler, tp::restartFlags(number), true);
}

// glibc's own changes the action in place (through its internal sigaction, which leaves
// the trampoline there) and notes the signal for its signal(); the hook notes it for ours.
int siginterrupt(int number, int interrupt) {
  if (!haveReal(&tp::real.siginterrupt)) {
    errno = ENOSYS;
    return -1;
  }
  int result = tp::real.siginterrupt(number, interrupt);
  if (result == 0) tp::noteInterrupting(number, interrupt != 0);
  return result;
}

sighandler_t bsd_signal(int number, sighandler_t handler) { return signal(number, handler); }
sighandler_t ssignal(int number, sighandler_t handler) { return signal(number, handler); }

// What `signal` is in a C program built with a strict standard (-std=c99: no BSD names).
sighandler_t __sysv_signal(int number, sighandler_t handler) {
  if (!haveReal(&tp::real.sigaction)) return SIG_ERR;
  return tp::setProgramHandler(number, handler, SA_RESETHAND | SA_NODEFER, false);
}
sighandler_t sysv_signal(int number, sighandler_t handler) {
  return __sysv_signal(number, handler);
}

sighandler_t sigset(int number, sighandler_t disposition) {
  if (!haveReal(&tp::real.sigaction)) return SIG_ERR;
  return tp::setProgramDisposition(number, disposition);
}

// The public API of include/tidemark.h, found by the program with dlsym.
void tidemark_request_snapshot() {
  if (tp::tracing()) tp::requestSnapshot(tidemark::format::SnapshotTrigger::Api);
}

void tidemark_record_mark(const char* label) { tp::recordMark(label); }

}  // extern "C"

// operator new / delete, every variant.
void* operator new(size_t n) { return allocateNew(n, AllocFunction::New); }
void* operator new[](size_t n) { return allocateNew(n, AllocFunction::NewArray); }
// The nothrow forms try once themselves; when that fails, the runtime's own nothrow
// operator runs the new-handler loop through the throwing one (ours) and catches its
// bad_alloc, which this library, built without exceptions, cannot.
void* operator new(size_t n, const std::nothrow_t& tag) noexcept {
  if (void* p = tryNew(n, AllocFunction::New)) return p;
  auto runtime = tp::runtimeNothrowNew(false);
  return runtime ? runtime(n, tag) : nullptr;
}
void* operator new[](size_t n, const std::nothrow_t& tag) noexcept {
  if (void* p = tryNew(n, AllocFunction::NewArray)) return p;
  auto runtime = tp::runtimeNothrowNew(true);
  return runtime ? runtime(n, tag) : nullptr;
}
void* operator new(size_t n, std::align_val_t a) {
  return allocateNewAligned(n, static_cast<size_t>(a), AllocFunction::New);
}
void* operator new[](size_t n, std::align_val_t a) {
  return allocateNewAligned(n, static_cast<size_t>(a), AllocFunction::NewArray);
}
void* operator new(size_t n, std::align_val_t a, const std::nothrow_t& tag) noexcept {
  if (void* p = tryNewAligned(n, static_cast<size_t>(a), AllocFunction::New)) return p;
  auto runtime = tp::runtimeAlignedNothrowNew(false);
  return runtime ? runtime(n, a, tag) : nullptr;
}
void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t& tag) noexcept {
  if (void* p = tryNewAligned(n, static_cast<size_t>(a), AllocFunction::NewArray)) return p;
  auto runtime = tp::runtimeAlignedNothrowNew(true);
  return runtime ? runtime(n, a, tag) : nullptr;
}
void operator delete(void* p) noexcept { release(p, AllocFunction::New); }
void operator delete[](void* p) noexcept { release(p, AllocFunction::NewArray); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p, AllocFunction::New); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  release(p, AllocFunction::NewArray);
}
void operator delete(void* p, size_t) noexcept { release(p, AllocFunction::New); }
void operator delete[](void* p, size_t) noexcept { release(p, AllocFunction::NewArray); }
void operator delete(void* p, std::align_val_t) noexcept { release(p, AllocFunction::New); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p, AllocFunction::NewArray); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { release(p, AllocFunction::New); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  release(p, AllocFunction::NewArray);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  release(p, AllocFunction::New);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  release(p, AllocFunction::NewArray);
}
