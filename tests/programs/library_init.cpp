// Test program: keeps four blocks of 100 bytes only in the registry that its library
// (init_registry.cpp) allocated in a constructor, before main, and has the library
// allocate a cache that its destructor frees. At exit the four blocks are reachable and
// the cache is gone; the library's 777 bytes lost at load are the one leak, as memcheck
// says. Exits 0.
#include <cstdio>
#include <cstdlib>

#include "init_registry.h"

int main() {
  for (int slot = 0; slot < 4; ++slot) registerEntry(slot, malloc(100));
  warmCache();
  puts("registered");
  return 0;
}
