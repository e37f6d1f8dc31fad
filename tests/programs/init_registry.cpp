// Test library: its constructor allocates a registry the program fills later, as type
// systems, plugin tables and descriptor pools are made before main, and another loses a
// block of 777 bytes. Both run before the program's constructors and, unless the tracer
// starts first, before the tracer's: a registry it never saw would not be scanned, and
// everything kept only in it would look lost. Its destructor frees a cache the program
// had it allocate: the exit snapshot, like memcheck, comes after the destructors.
#include "init_registry.h"

#include <cstdlib>

namespace {

void** registry;
void* cache;
void* volatile sink;

__attribute__((constructor)) void makeRegistry() {
  registry = static_cast<void**>(calloc(4, sizeof(void*)));
}

__attribute__((constructor, noinline)) void loseBlockAtLoad() {
  sink = malloc(777);
  sink = nullptr;
}

__attribute__((destructor)) void dropCache() { free(cache); }

}  // namespace

void registerEntry(int slot, void* entry) { registry[slot] = entry; }

void warmCache() { cache = malloc(333); }
