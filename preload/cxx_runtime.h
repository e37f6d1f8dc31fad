// What operator new needs from the program's C++ runtime once memory runs out: the
// new-handler, bad_alloc, and the runtime's own nothrow variants. The tracer does not link
// libstdc++: a C program traced would load it, and the 71 KiB emergency pool its
// constructor allocates (traced, since the tracer starts first) would look like the
// program's. A program that calls operator new has a C++ runtime loaded; its functions are
// looked up with dlsym at start (dlsym takes the loader's lock, which a thread of the
// program in dlopen may hold: not in a hook), and again only when one was not there then.
#pragma once

#include <cstddef>
#include <new>

namespace tidemark::preload {

// Looks the runtime's functions up (from the tracer's start).
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
