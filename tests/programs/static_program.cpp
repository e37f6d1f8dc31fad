// Statically linked (see tests/e2e/CMakeLists.txt): there is no dynamic loader to load the
// tracer, so `tidemark record` writes no trace and must say why.
#include <cstdio>
#include <cstdlib>

int main() {
  void* block = malloc(100);
  printf("static program ran\n");
  free(block);
  return 0;
}
