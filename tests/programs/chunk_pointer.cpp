// Test program: a stale pointer of the kind glibc malloc leaves behind, which points into
// a block without being the program's. A block of 4,321 bytes (glibc rounds it to a chunk
// whose last word is the first of the next chunk's header) loses its only pointer; a
// global keeps a pointer to the header of the block after it (16 bytes before that
// block), as calloc's locals and the top chunk pointer do. memcheck (whose malloc keeps no
// headers there) calls the first block definitely lost; so must the scan. Exits 0.
#include <cstdio>
#include <cstdlib>

namespace {

void* volatile kept;         // the second block: reachable
char* volatile chunkHeader;  // 16 bytes before it
void* volatile sink;

__attribute__((noinline)) void loseBlockBeforeAnother() {
  sink = malloc(4321);
  auto* next = static_cast<char*>(malloc(100));
  kept = next;
  chunkHeader = next - 16;
  sink = nullptr;
}

}  // namespace

int main() {
  loseBlockBeforeAnother();
  printf("kept\n");
  return 0;
}
