// Finding glibc malloc's main arena (see malloc_state.h). The symbol is local to libc and
// Debian strips it, so the arena is recognised in the writable segments of the object
// that serves malloc by the layout of `struct malloc_state` (glibc 2.27 to 2.40):
//   mutex, flags, have_fastchunks (+ pad)   0
//   fastbinsY[10]                           16
//   top, last_remainder                     96, 104
//   bins[254]                               112   (fd/bk pairs; an empty bin's pair
//                                                  points at itself, 16 bytes back)
//   binmap[4]                               2144
//   next, next_free                         2160, 2168
//   attached_threads, system_mem, max_system_mem   2176, 2184, 2192      size 2200
#include "malloc_state.h"

#include <link.h>

#include <cstdint>

#include "loader_walks.h"

namespace tidemark::preload {
namespace {

constexpr uint64_t kBins = 112, kBinPairs = 127, kNext = 2160, kSystemMem = 2184,
                   kMaxSystemMem = 2192, kSize = 2200;
// Another arena's state follows its heap's small header in a 64 MiB-aligned mapping.
constexpr uint64_t kHeapAlignment = uint64_t{64} << 20;
// Empty bins that must point at themselves: startup leaves almost all of them empty, and a
// busy heap uses few of the large ones; by chance no run of words looks like that.
constexpr int kEmptyBinsNeeded = 8;

uint64_t word(uint64_t address) { return *reinterpret_cast<const uint64_t*>(address); }

bool isMainArena(uint64_t base) {
  uint64_t next = word(base + kNext);
  bool nextIsArena = next == base || (next >= kHeapAlignment && next % kHeapAlignment < 4096);
  uint64_t system = word(base + kSystemMem), maxSystem = word(base + kMaxSystemMem);
  if (!nextIsArena || system % 4096 != 0 || maxSystem % 4096 != 0 || system > maxSystem) {
    return false;
  }
  int empty = 0;
  for (uint64_t k = 0; k < kBinPairs; ++k) {
    uint64_t pair = base + kBins + 16 * k;
    if (word(pair) == pair - 16 && word(pair + 8) == pair - 16) ++empty;
  }
  return empty >= kEmptyBinsNeeded;
}

// The object whose code serves malloc, and the arena in its writable segments.
struct Search {
  uint64_t mallocAddress;
  AddressRange found;
};

bool holds(const dl_phdr_info& object, uint64_t address) {
  for (int i = 0; i < object.dlpi_phnum; ++i) {
    const auto& ph = object.dlpi_phdr[i];
    uint64_t begin = object.dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && address >= begin && address < begin + ph.p_memsz) return true;
  }
  return false;
}

}  // namespace

AddressRange findMainArena(const void* malloc) {
  if (!malloc) return {0, 0};
  Search search{reinterpret_cast<uint64_t>(malloc), {0, 0}};
  walkLoadedObjects(
      [](dl_phdr_info* object, size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        if (!holds(*object, s->mallocAddress)) return 0;
        for (int i = 0; i < object->dlpi_phnum && !s->found.end; ++i) {
          const auto& ph = object->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W)) continue;
          uint64_t begin = object->dlpi_addr + ph.p_vaddr, end = begin + ph.p_memsz;
          for (uint64_t base = (begin + 7) & ~uint64_t{7}; base + kSize <= end; base += 8) {
            if (isMainArena(base)) {
              s->found = {base, base + kSize};
              break;
            }
          }
        }
        return 1;
      },
      &search);
  return search.found;
}

}  // namespace tidemark::preload
