// Test allocator, preloaded after the tracer: it serves every allocation from one
// mapping it makes on its first call, and lists each block it hands out in a registry
// inside that mapping, as allocators keep metadata about their blocks. A snapshot that
// scanned the allocator's own mappings as roots would find every block in the registry
// and call nothing lost. Never frees (free only forgets nothing); single lock. With
// REGISTRY_ALLOCATOR_PAGE_EACH=1 it also maps a page of its own for every block (as an
// allocator maps a run per size class), to make more mappings than the tracer can list.
#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace {

constexpr size_t kArenaBytes = size_t{1} << 30;  // reserved, touched as used
constexpr size_t kRegistrySlots = 1 << 20;
constexpr size_t kHeader = 16;  // the block's size, kept before it

struct Arena {
  void** registry;  // kRegistrySlots entries at the arena's start
  size_t registered;
  char* next;
  char* end;
};

Arena arena;
std::mutex lock;

void* allocate(size_t size, size_t alignment) {
  std::lock_guard guard(lock);
  if (!arena.next) {
    void* map = mmap(nullptr, kArenaBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) return nullptr;
    arena.registry = static_cast<void**>(map);
    arena.next = static_cast<char*>(map) + kRegistrySlots * sizeof(void*);
    arena.end = static_cast<char*>(map) + kArenaBytes;
  }
  static const bool pageEach = [] {
    const char* value = getenv("REGISTRY_ALLOCATOR_PAGE_EACH");
    return value && *value == '1';
  }();
  if (pageEach) {
    mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  }
  if (alignment < kHeader) alignment = kHeader;
  auto at = reinterpret_cast<uintptr_t>(arena.next) + kHeader;
  at = (at + alignment - 1) & ~(alignment - 1);
  char* block = reinterpret_cast<char*>(at);
  if (block + size > arena.end || arena.registered == kRegistrySlots) return nullptr;
  reinterpret_cast<size_t*>(block)[-1] = size;
  arena.next = block + size;
  arena.registry[arena.registered++] = block;
  return block;
}

size_t sizeOf(void* p) { return p ? static_cast<size_t*>(p)[-1] : 0; }

}  // namespace

extern "C" {

void* malloc(size_t size) { return allocate(size, 16); }
void free(void*) {}
void* calloc(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) return nullptr;
  return allocate(total, 16);  // fresh arena memory is zero
}
void* realloc(void* old, size_t size) {
  void* p = allocate(size, 16);
  if (p && old) memcpy(p, old, sizeOf(old) < size ? sizeOf(old) : size);
  return p;
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  *out = allocate(size, alignment);
  return *out ? 0 : ENOMEM;
}
void* aligned_alloc(size_t alignment, size_t size) { return allocate(size, alignment); }
void* memalign(size_t alignment, size_t size) { return allocate(size, alignment); }
void* valloc(size_t size) { return allocate(size, 4096); }
void* pvalloc(size_t size) { return allocate((size + 4095) & ~size_t{4095}, 4096); }
size_t malloc_usable_size(void* p) { return sizeOf(p); }

}  // extern "C"
