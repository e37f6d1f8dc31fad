// Reading the program's unreadable pages as zeros in the scanning child (see
// unreadable_pages.h). Raw system calls only: the child may call nothing that locks, and
// libc's sigaction is the tracer's own hook here.
#include "unreadable_pages.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "proc_maps.h"
#include "raw_memory.h"

// Where the kernel returns to from a handler (SA_RESTORER): rt_sigreturn, as libc's own.
extern "C" void tidemarkScanSigreturn();
asm(R"(
  .text
  .p2align 4
  .type tidemarkScanSigreturn, @function
tidemarkScanSigreturn:
  mov $15, %rax
  syscall
  .size tidemarkScanSigreturn, .-tidemarkScanSigreturn
)");

namespace tidemark::preload {

namespace {

// The kernel's struct sigaction (x86-64), which differs from libc's.
struct KernelSigaction {
  void (*handler)(int, siginfo_t*, void*);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};
constexpr unsigned long kRestorer = 0x04000000;  // SA_RESTORER

void setHandler(int signal, void (*handler)(int, siginfo_t*, void*), unsigned long flags) {
  KernelSigaction action{handler, flags | kRestorer, tidemarkScanSigreturn, ~uint64_t{0}};
  syscall(SYS_rt_sigaction, signal, &action, nullptr, sizeof action.mask);
}

constexpr uint32_t kMaxRuns = 64;
ProgramMemoryFn programMemory = nullptr;
FatalFaultFn fatalFault = nullptr;
const void* handlerContext = nullptr;
UnreadableRun* runs = nullptr;
uint32_t runCount = 0;
bool overflowed = false;

void describeMapping(uint64_t address, char* out, size_t capacity) {
  out[0] = '\0';
  forEachProcLine("/proc/thread-self/maps", [&](const char* line) {
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
  if (info->si_code > 0 && programMemory(handlerContext, page)) {
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
  static UnreadableRun fault;
  fault = {page, page + kPageBytes, signal, info->si_code, {}};
  describeMapping(page, fault.mapping, sizeof fault.mapping);
  fatalFault(handlerContext, fault);
  setHandler(signal, nullptr, 0);  // SIG_DFL
}

}  // namespace

void readUnreadableAsZeros(ProgramMemoryFn isProgramMemory, FatalFaultFn fatal,
                           const void* context) {
  programMemory = isProgramMemory;
  fatalFault = fatal;
  handlerContext = context;
  runs = static_cast<UnreadableRun*>(mapChildMemory(kMaxRuns * sizeof(UnreadableRun)));
  uint64_t faults = 0;
  for (int signal : {SIGBUS, SIGSEGV}) {
    setHandler(signal, onFault, SA_SIGINFO);
    faults |= uint64_t{1} << (signal - 1);
  }
  // The child starts with every signal blocked (the helper's mask); a fault that is
  // blocked skips its handler and kills.
  syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &faults, nullptr, sizeof faults);
}

uint32_t unreadableRunCount() { return runCount; }
const UnreadableRun& unreadableRun(uint32_t i) { return runs[i]; }
bool unreadableRunsOverflowed() { return overflowed; }

}  // namespace tidemark::preload
