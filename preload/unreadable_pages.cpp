// Reading the program's unreadable pages as zeros in the scanning child (see
// unreadable_pages.h). Raw system calls and libc's own sigaction only: the child may call
// nothing that locks.
#include "unreadable_pages.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "proc_maps.h"
#include "raw_memory.h"
#include "real_functions.h"

namespace tidemark::preload {

namespace {

constexpr uint32_t kMaxRuns = 64;
ProgramMemoryFn programMemory = nullptr;
const void* programMemoryContext = nullptr;
UnreadableRun* runs = nullptr;
uint32_t runCount = 0;
bool overflowed = false;

void describeMapping(uint64_t address, char* out, size_t capacity) {
  out[0] = '\0';
  forEachProcLine("/proc/self/maps", [&](const char* line) {
    MappingLine m;
    if (out[0] != '\0' || !parseMappingLine(line, &m) || address < m.begin || address >= m.end)
      return;
    // Without the padding before the path, nor the space that ends an anonymous one.
    size_t n = 0;
    for (const char* c = line; *c && n + 1 < capacity; ++c) {
      if (*c != ' ' || (c[1] != ' ' && c[1] != '\0')) out[n++] = *c;
    }
    out[n] = '\0';
  });
}

// The run this page extends or starts; nullptr when there is no room for a new one.
UnreadableRun* runFor(uint64_t page, int signal, int code) {
  if (runCount > 0) {
    UnreadableRun& last = runs[runCount - 1];
    if (last.end == page && last.signal == signal && last.code == code) return &last;
  }
  if (runCount == kMaxRuns) {
    overflowed = true;
    return nullptr;
  }
  UnreadableRun& run = runs[runCount++];
  run = {page, page, signal, code, {}};
  describeMapping(page, run.mapping, sizeof run.mapping);
  return &run;
}

void onFault(int signal, siginfo_t* info, void*) {
  uint64_t page = reinterpret_cast<uint64_t>(info->si_addr) & ~(kPageBytes - 1);
  // si_code > 0: the kernel's, for a fault; a kill() from outside has none to skip.
  if (info->si_code > 0 && programMemory(programMemoryContext, page)) {
    UnreadableRun* run = runFor(page, signal, info->si_code);
    long at = syscall(SYS_mmap, page, kPageBytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (at == static_cast<long>(page)) {
      if (run) run->end = page + kPageBytes;
      return;  // the load runs again, on zeros
    }
  }
  // Not the program's memory: the child dies of the fault when the load runs again, and
  // the writer notes the snapshot failed with this signal.
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  real.sigaction(signal, &fallback, nullptr);
}

}  // namespace

void readUnreadableAsZeros(ProgramMemoryFn isProgramMemory, const void* context) {
  programMemory = isProgramMemory;
  programMemoryContext = context;
  runs = static_cast<UnreadableRun*>(mapChildMemory(kMaxRuns * sizeof(UnreadableRun)));
  struct sigaction action {};
  action.sa_sigaction = onFault;
  action.sa_flags = SA_SIGINFO;
  sigfillset(&action.sa_mask);
  sigset_t faults;
  sigemptyset(&faults);
  for (int signal : {SIGBUS, SIGSEGV}) {
    real.sigaction(signal, &action, nullptr);
    sigaddset(&faults, signal);
  }
  // The child starts with every signal blocked (the helper's mask); a fault that is
  // blocked skips its handler and kills.
  syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &faults, nullptr, _NSIG / 8);
}

uint32_t unreadableRunCount() { return runCount; }
const UnreadableRun& unreadableRun(uint32_t i) { return runs[i]; }
bool unreadableRunsOverflowed() { return overflowed; }

}  // namespace tidemark::preload
