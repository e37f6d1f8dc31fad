// The program's C++ runtime, found by symbol name (cxx_runtime.h). Both libstdc++ and
// libc++ export the new-handler and the nothrow operators under these names.
#include "cxx_runtime.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>

namespace tidemark::preload {
namespace {

enum Symbol {
  kGetNewHandler,
  kThrowBadAllocLibstdcxx,
  kThrowBadAllocLibcxx,
  kNothrowNew,
  kNothrowNewArray,
  kAlignedNothrowNew,
  kAlignedNothrowNewArray,
  kSymbols
};
constexpr const char* kNames[kSymbols] = {"_ZSt15get_new_handlerv",
                                          "_ZSt17__throw_bad_allocv",
                                          "_ZNSt3__117__throw_bad_allocEv",
                                          "_ZnwmRKSt9nothrow_t",
                                          "_ZnamRKSt9nothrow_t",
                                          "_ZnwmSt11align_val_tRKSt9nothrow_t",
                                          "_ZnamSt11align_val_tRKSt9nothrow_t"};
std::atomic<void*> found[kSymbols];

void* lookup(Symbol s) { return found[s].load(std::memory_order_acquire); }

}  // namespace

void resolveCxxRuntime() {
  // Both runtimes export the new-handler: once it is found, so is the rest.
  if (lookup(kGetNewHandler)) return;
  // The first definition after this library's (ours come first: the tracer interposes
  // the nothrow operators too).
  for (int s = 0; s < kSymbols; ++s) {
    if (void* p = dlsym(RTLD_NEXT, kNames[s])) found[s].store(p, std::memory_order_release);
  }
}

std::new_handler currentNewHandler() {
  auto get = reinterpret_cast<std::new_handler (*)()>(lookup(kGetNewHandler));
  return get ? get() : nullptr;
}

void throwBadAlloc() {
  for (Symbol s : {kThrowBadAllocLibstdcxx, kThrowBadAllocLibcxx}) {
    if (auto thrower = reinterpret_cast<void (*)()>(lookup(s))) thrower();
  }
  abort();
}

NothrowNewFunction runtimeNothrowNew(bool array) {
  return reinterpret_cast<NothrowNewFunction>(lookup(array ? kNothrowNewArray : kNothrowNew));
}

AlignedNothrowNewFunction runtimeAlignedNothrowNew(bool array) {
  return reinterpret_cast<AlignedNothrowNewFunction>(
      lookup(array ? kAlignedNothrowNewArray : kAlignedNothrowNew));
}

}  // namespace tidemark::preload
