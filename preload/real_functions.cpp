// Resolution of the interposed functions' next definitions, and the bootstrap pool that
// serves dlsym's own allocations while that resolution runs.
#include "real_functions.h"

#include <atomic>
#include <cstdint>

#include "allocator_mappings.h"

namespace tidemark::preload {

constinit RealFunctions real;

namespace {

alignas(64) unsigned char bootstrapPool[64 * 1024];
std::atomic<size_t> bootstrapUsed{0};

// glibc 2.35 and 2.36 read /sys/kernel/mm/transparent_hugepage/enabled into a buffer they
// never terminate and compare it with strcmp, so whether GLIBC_TUNABLES=
// glibc.malloc.hugetlb=1 (tidemark record --huge-pages) takes effect depends on one byte
// of stale stack. malloc sets itself up on its first call; making that call right after
// zeroing the stack below us makes the byte zero.
__attribute__((noinline)) void zeroStackBelow() {
  volatile unsigned char area[4096];
  for (size_t i = 0; i < sizeof area; ++i) area[i] = 0;
}

}  // namespace

void* bootstrapAllocate(size_t bytes) {
  size_t rounded = (bytes + 15) & ~size_t{15};
  size_t offset = bootstrapUsed.fetch_add(rounded, std::memory_order_relaxed);
  if (offset + rounded > sizeof bootstrapPool) return nullptr;
  return bootstrapPool + offset;  // static storage is zeroed, as calloc requires
}

bool isBootstrapBlock(const void* p) {
  auto address = reinterpret_cast<uintptr_t>(p);
  auto begin = reinterpret_cast<uintptr_t>(bootstrapPool);
  return address >= begin && address < begin + sizeof bootstrapPool;
}

size_t bootstrapBytesFrom(const void* p) {
  return sizeof bootstrapPool -
         (reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(bootstrapPool));
}

void resolveRealFunctions() {
  // dlsym allocates; while it runs (in any thread) allocations come from the pool.
  static std::atomic<bool> resolving{false};
  if (resolving.exchange(true, std::memory_order_acq_rel)) return;
    // Each pointer is stored as soon as it is known; calloc comes last because dlsym's
    // error path uses it and must keep getting the pool until everything else resolved.
#define TIDEMARK_REAL_RESOLVE(name, ret, params)                                      \
  if (!real.name) {                                                                   \
    void* symbol = dlsym(RTLD_NEXT, #name);                                           \
    __atomic_store_n(reinterpret_cast<void**>(&real.name), symbol, __ATOMIC_RELEASE); \
  }
  TIDEMARK_REAL_FUNCTIONS(TIDEMARK_REAL_RESOLVE)
#undef TIDEMARK_REAL_RESOLVE
  resolving.store(false, std::memory_order_release);
  static std::atomic<bool> primed{false};
  if (real.malloc && real.free && !primed.exchange(true, std::memory_order_acq_rel)) {
    zeroStackBelow();
    callAllocator(real.free, callAllocator(real.malloc, 1));
  }
}

}  // namespace tidemark::preload
