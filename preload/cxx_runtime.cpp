// The program's C++ runtime, found by symbol name (cxx_runtime.h). Both libstdc++ and
// libc++ export the new-handler and the nothrow operators under these names.
#include "cxx_runtime.h"

#include <dlfcn.h>

#include <cstdlib>
#include <initializer_list>

namespace tidemark::preload {
namespace {

// The first definition of `name` after this library's (ours come first: the tracer
// interposes the nothrow operators too).
void* next(const char* name) { return dlsym(RTLD_NEXT, name); }

}  // namespace

std::new_handler currentNewHandler() {
  auto get = reinterpret_cast<std::new_handler (*)()>(next("_ZSt15get_new_handlerv"));
  return get ? get() : nullptr;
}

void throwBadAlloc() {
  for (const char* name : {"_ZSt17__throw_bad_allocv",           // libstdc++
                           "_ZNSt3__117__throw_bad_allocEv"}) {  // libc++
    if (auto thrower = reinterpret_cast<void (*)()>(next(name))) thrower();
  }
  abort();
}

NothrowNewFunction runtimeNothrowNew(bool array) {
  return reinterpret_cast<NothrowNewFunction>(
      next(array ? "_ZnamRKSt9nothrow_t" : "_ZnwmRKSt9nothrow_t"));
}

AlignedNothrowNewFunction runtimeAlignedNothrowNew(bool array) {
  return reinterpret_cast<AlignedNothrowNewFunction>(
      next(array ? "_ZnamSt11align_val_tRKSt9nothrow_t" : "_ZnwmSt11align_val_tRKSt9nothrow_t"));
}

}  // namespace tidemark::preload
