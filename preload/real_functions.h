// The next definitions (libc's, usually) of every function the tracer interposes,
// found with dlsym(RTLD_NEXT) before the first traced call.
#pragma once

#include <dlfcn.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/types.h>

#include <cstddef>

namespace tidemark::preload {

// X(name, return type, parameter list)
#define TIDEMARK_REAL_FUNCTIONS(X)                                                 \
  X(malloc, void*, (size_t))                                                       \
  X(free, void, (void*))                                                           \
  X(realloc, void*, (void*, size_t))                                               \
  X(reallocarray, void*, (void*, size_t, size_t))                                  \
  X(posix_memalign, int, (void**, size_t, size_t))                                 \
  X(aligned_alloc, void*, (size_t, size_t))                                        \
  X(memalign, void*, (size_t, size_t))                                             \
  X(valloc, void*, (size_t))                                                       \
  X(pvalloc, void*, (size_t))                                                      \
  X(mmap, void*, (void*, size_t, int, int, int, off_t))                            \
  X(munmap, int, (void*, size_t))                                                  \
  X(mremap, void*, (void*, size_t, size_t, int, void*))                            \
  X(dlopen, void*, (const char*, int))                                             \
  X(dlclose, int, (void*))                                                         \
  X(execve, int, (const char*, char* const[], char* const[]))                      \
  X(execvpe, int, (const char*, char* const[], char* const[]))                     \
  X(_exit, void, (int))                                                            \
  X(abort, void, ())                                                               \
  X(raise, int, (int))                                                             \
  X(fork, pid_t, ())                                                               \
  X(sigaction, int, (int, const struct sigaction*, struct sigaction*))             \
  X(siginterrupt, int, (int, int))                                                 \
  X(epoll_wait, int, (int, epoll_event*, int, int))                                \
  X(epoll_pwait, int, (int, epoll_event*, int, int, const sigset_t*))              \
  X(epoll_pwait2, int, (int, epoll_event*, int, const timespec*, const sigset_t*)) \
  X(calloc, void*, (size_t, size_t))                                               \
  X(malloc_usable_size, size_t, (void*))

struct RealFunctions {
#define TIDEMARK_REAL_POINTER(name, ret, params) ret(*name) params = nullptr;
  TIDEMARK_REAL_FUNCTIONS(TIDEMARK_REAL_POINTER)
#undef TIDEMARK_REAL_POINTER
};

extern RealFunctions real;

// Resolves every pointer once. dlsym may itself call calloc/malloc: while a pointer is
// still null those calls are served by bootstrapAllocate. Safe to call repeatedly.
void resolveRealFunctions();

// A small static pool for the allocations dlsym makes before malloc is resolved.
void* bootstrapAllocate(size_t bytes);
bool isBootstrapBlock(const void* p);
// Bytes from `p` to the end of the pool: a bound on what a pool block can hold.
size_t bootstrapBytesFrom(const void* p);

}  // namespace tidemark::preload
