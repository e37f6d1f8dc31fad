/* Test program, in C: no C++ runtime at start. Loads the C++ library given as argument
 * (globally, as a plugin host would share its symbols), calls plugin_new_fails and says
 * whether operator new's bad_alloc was caught. Exits 0 when it was. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  void* handle = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (!handle) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  int (*newFails)(void) = (int (*)(void))dlsym(handle, "plugin_new_fails");
  int caught = newFails && newFails();
  printf("cxx_loader: bad_alloc %s\n", caught ? "caught" : "not caught");
  return caught ? 0 : 1;
}
