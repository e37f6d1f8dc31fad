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

// The first definition of the symbol after this library's (ours come first: the tracer
// interposes the nothrow operators too). Looked up again while not found: a C program may
// dlopen a C++ library later.
void* lookup(Symbol s) {
  void* p = found[s].load(std::memory_order_relaxed);
  if (!p && (p = dlsym(RTLD_NEXT, kNames[s]))) found[s].store(p, std::memory_order_relaxed);
  return p;
}

}  // namespace

void resolveCxxRuntime() {
  for (int s = 0; s < kSymbols; ++s) lookup(static_cast<Symbol>(s));
}

std::new_handler currentNewHandler() {
  auto get = reinterpret_cast<std::new_handler (*)()>(lookup(kGetNewHandler));
  return get ? get() : nullptr;
}

void throwBadAlloc() {
  // The runtime found at start first: a failed lookup of the other one would allocate.
  for (Symbol s : {kThrowBadAllocLibstdcxx, kThrowBadAllocLibcxx}) {
    if (auto thrower = reinterpret_cast<void (*)()>(found[s].load(std::memory_order_relaxed)))
      thrower();
  }
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
