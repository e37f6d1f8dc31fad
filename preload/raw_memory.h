// Tracer memory straight from the kernel: the hook layer never calls malloc.
#pragma once

#include <sys/mman.h>

#include <cstddef>

namespace tidemark::preload {

inline void* mapPages(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

inline void unmapPages(void* p, size_t bytes) {
  if (p) munmap(p, bytes);
}

}  // namespace tidemark::preload
