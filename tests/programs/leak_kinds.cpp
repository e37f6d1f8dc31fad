// Test program: one block for each kind of root and pointer, with the class valgrind
// memcheck gives it at exit (valgrind --leak-check=full --show-leak-kinds=all):
//
//   keptByBlockedThread  72 bytes  reachable  only in a thread's registers/stack while it
//                                             is blocked in read() at exit
//   keptInTls            40 bytes  reachable  only in a thread_local of the main thread
//   keptInMapping        56 bytes  reachable  only in a region the program got from mmap
//   keptInDontFork       24 bytes  reachable  only in such a region marked MADV_DONTFORK
//                                             (as V8 marks every page of its heap)
//   keptByInterior       88 bytes  possible   only an interior pointer (+40) in a global
//   keptByArrayCookie    32 bytes  reachable  only by the pointer new[] returns, past the
//                                             element count it keeps first (memcheck's
//                                             "newarray" heuristic)
//   keptAsSecondBase     32 bytes  reachable  only by a pointer to its second base class,
//                                             at a vtable pointer ("multipleinheritance")
//   makeCycle         2 x 48 bytes lost       a pair pointing at each other, dropped:
//                                             1 definitely + 1 indirectly lost
//   hideByXor           104 bytes  definite   its address only XOR-ed in a global
//   makeTree          7 x 32 bytes lost       a tree whose root pointer is dropped:
//                                             1 definitely (root) + 6 indirectly lost
//   keptInFreedBlock    120 bytes  definite   its address only in a block since freed
//                                             (free memory keeps stale bytes; no one
//                                             scans it, whichever allocator owns it)
//   lostLargeBlock    65536 bytes  definite   dropped; an allocator that keeps large
//                                             blocks in extents of their own (jemalloc)
//                                             still holds its address in its metadata
// Totals: definitely lost 65,840 bytes in 5 blocks, indirectly lost 240 bytes in 7 blocks,
// possibly lost 88 bytes in 1 block. Prints "ready" and exits 0 via exit().
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

struct Node {
  Node* left;
  Node* right;
  uint64_t pad[2];
};
static_assert(sizeof(Node) == 32);

int blockerPipe[2];

// Stores the compiler must keep although this program never reads them back.
void keep(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

}  // namespace

// Globals with external linkage, so the compiler keeps them and their stores.
thread_local void* keptInTlsSlot;
void* mappingRegion;
void* dontForkRegion;
char* interiorPointer;
struct Counted {
  ~Counted();  // not trivial: new[] keeps the element count before the elements
  uint64_t value;
};
Counted::~Counted() { value = 0; }
Counted* arrayCookiePointer;
struct FirstBase {
  virtual ~FirstBase() = default;
  uint64_t first = 1;
};
struct SecondBase {
  virtual ~SecondBase() = default;
  uint64_t second = 2;
};
struct Derived : FirstBase, SecondBase {};
SecondBase* secondBasePointer;
uintptr_t hiddenAddress;

namespace {

__attribute__((noinline)) void* keptByBlockedThread() { return calloc(1, 72); }
__attribute__((noinline)) void keptInTls() { keptInTlsSlot = calloc(1, 40); }
__attribute__((noinline)) void keptInMapping() {
  mappingRegion = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  *static_cast<void**>(mappingRegion) = calloc(1, 56);
}
__attribute__((noinline)) void keptInDontFork() {
  dontForkRegion = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  madvise(dontForkRegion, 4096, MADV_DONTFORK);
  *static_cast<void**>(dontForkRegion) = calloc(1, 24);
}
__attribute__((noinline)) void keptByInterior() {
  interiorPointer = static_cast<char*>(calloc(1, 88)) + 40;
}
__attribute__((noinline)) void keptByArrayCookie() { arrayCookiePointer = new Counted[3]; }
__attribute__((noinline)) void keptAsSecondBase() { secondBasePointer = new Derived; }
__attribute__((noinline)) Node* cycleNode() { return static_cast<Node*>(calloc(1, 48)); }
__attribute__((noinline)) void makeCycle() {
  Node* a = cycleNode();
  Node* b = cycleNode();
  a->left = b;
  b->left = a;
  keep(a);
}
__attribute__((noinline)) void hideByXor() {
  hiddenAddress = reinterpret_cast<uintptr_t>(calloc(1, 104)) ^ 0x5a5a5a5a5a5a5a5aull;
}
__attribute__((noinline)) Node* treeNode() { return static_cast<Node*>(calloc(1, sizeof(Node))); }
__attribute__((noinline)) Node* makeTree(int depth) {
  Node* node = treeNode();
  if (depth > 1) {
    node->left = makeTree(depth - 1);
    node->right = makeTree(depth - 1);
  }
  keep(node);
  return node;
}

__attribute__((noinline)) void* keptInFreedBlock() { return calloc(1, 120); }
__attribute__((noinline)) void dropIntoFreedBlock() {
  auto** holder = static_cast<void**>(calloc(1, 256));
  holder[16] = keptInFreedBlock();  // at byte 128: past any allocator's free-list links
  keep(holder);
  free(holder);
}

__attribute__((noinline)) void lostLargeBlock() { keep(calloc(1, 65536)); }

void blockedThread() {
  void* kept = keptByBlockedThread();
  char c;
  ssize_t n = read(blockerPipe[0], &c, 1);  // never returns: the process exits first
  asm volatile("" : : "r"(kept), "r"(n) : "memory");
}

// Overwrites the dead stack area below the caller so no stale copy of a pointer the
// functions above returned survives there (valgrind ignores dead stack; so do we, but
// a stale copy in a live frame's spill slot would be a real reference).
__attribute__((noinline)) void scrubStack() {
  volatile char scratch[16384];
  memset(const_cast<char*>(scratch), 0, sizeof scratch);
}

}  // namespace

int main() {
  if (pipe(blockerPipe) != 0) return 2;
  std::thread(blockedThread).detach();
  keptInTls();
  keptInMapping();
  keptInDontFork();
  keptByInterior();
  keptByArrayCookie();
  keptAsSecondBase();
  makeCycle();
  hideByXor();
  makeTree(3);  // 7 nodes; the root pointer is dropped here
  dropIntoFreedBlock();
  lostLargeBlock();
  scrubStack();
  usleep(100'000);  // the blocked thread is in read() by now
  printf("ready\n");
  fflush(stdout);
  exit(0);
}
