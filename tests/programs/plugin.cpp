// Test plugin for the dlopen test: a shared object loaded, used and closed at run time.
// plugin_leak leaks one block of 777 bytes each call.
#include <cstdlib>

extern "C" __attribute__((visibility("default"), noinline)) void* plugin_leak() {
  void* block = malloc(777);
  asm volatile("" : : "r"(block) : "memory");  // no tail call: keep this frame
  return block;
}
