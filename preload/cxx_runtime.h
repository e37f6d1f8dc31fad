// What operator new needs from the program's C++ runtime once memory runs out: the
// new-handler, bad_alloc, and the runtime's own nothrow variants. The tracer does not link
// libstdc++: a C program traced would load it, and the 71 KiB emergency pool its
// constructor allocates (traced, since the tracer starts first) would look like the
// program's. A program that calls operator new has a C++ runtime loaded; its functions are
// looked up with dlsym at start and, while none was found, after each dlopen (a C program
// may load a C++ library): never from operator new, where dlsym would take the loader's
// lock, which another of the program's threads may hold, and allocate.
#pragma once

#include <cstddef>
#include <new>

namespace tidemark::preload {

// Looks the runtime's functions up, unless they were found already (the tracer's start,
// and the dlopen hook after the library is loaded).
void resolveCxxRuntime();

// The program's current new-handler; nullptr when none is set or there is no runtime.
std::new_handler currentNewHandler();

// Throws std::bad_alloc through the program's C++ runtime (libstdc++ or libc++); aborts
// when there is none.
[[noreturn]] void throwBadAlloc();

// The runtime's nothrow operator new of the given kind, which calls the throwing one (the
// tracer's) and turns its bad_alloc into nullptr; nullptr when there is no runtime.
using NothrowNewFunction = void* (*)(size_t, const std::nothrow_t&);
using AlignedNothrowNewFunction = void* (*)(size_t, std::align_val_t, const std::nothrow_t&);
NothrowNewFunction runtimeNothrowNew(bool array);
AlignedNothrowNewFunction runtimeAlignedNothrowNew(bool array);

}  // namespace tidemark::preload
