// Test program: dlopens the plugin given as argument, calls plugin_leak twice (2 blocks,
// 1554 bytes, allocated inside the plugin), dlcloses it and exits 0. The trace must name
// plugin_leak and its source file although the plugin is gone by the end.
#include <dlfcn.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  void* handle = dlopen(argv[1], RTLD_NOW);
  if (!handle) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  auto leak = reinterpret_cast<void* (*)()>(dlsym(handle, "plugin_leak"));
  leak();
  leak();
  return dlclose(handle) == 0 ? 0 : 1;
}
