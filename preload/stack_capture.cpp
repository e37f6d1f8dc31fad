// Stack capture through libunwind's unw_backtrace with its per-thread cache
// (UNWINDING.md: ~190 ns a capture here, and correct on Debian's frame-pointer-less libs).
#include "stack_capture.h"

#include <dlfcn.h>
#include <link.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

namespace tidemark::preload {
namespace {

uintptr_t ownCodeBegin = 0;
uintptr_t ownCodeEnd = 0;

int findOwnObject(struct dl_phdr_info* info, size_t, void* data) {
  auto self = reinterpret_cast<uintptr_t>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    uintptr_t end = begin + ph.p_memsz;
    if (self >= begin && self < end) {
      ownCodeBegin = begin;
      ownCodeEnd = end;
      return 1;
    }
  }
  return 0;
}

}  // namespace

void initStackCapture() {
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
  dl_iterate_phdr(findOwnObject, reinterpret_cast<void*>(&initStackCapture));
}

uint32_t captureStack(uintptr_t* ips) {
  void* frames[kMaxFrames + 8];
  int depth = unw_backtrace(frames, kMaxFrames + 8);
  int first = 0;
  while (first < depth) {
    auto ip = reinterpret_cast<uintptr_t>(frames[first]);
    if (ip < ownCodeBegin || ip >= ownCodeEnd) break;
    ++first;
  }
  uint32_t n = 0;
  for (int i = first; i < depth && n < kMaxFrames; ++i) {
    ips[n++] = reinterpret_cast<uintptr_t>(frames[i]);
  }
  return n;
}

}  // namespace tidemark::preload
