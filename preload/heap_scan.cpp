// Conservative scan of the frozen copy (SNAPSHOTS.md, step 8). See heap_scan.h.
#include "heap_scan.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "../format/snapshot_writer.h"
#include "allocator_mappings.h"
#include "block_sort.h"
#include "guarded_memory.h"
#include "heap_guard.h"
#include "live_blocks.h"
#include "populated_pages.h"
#include "proc_maps.h"
#include "raw_memory.h"
#include "ring.h"
#include "snapshot_job.h"
#include "tracer.h"
#include "unreadable_pages.h"

namespace tidemark::preload {
namespace {

using format::PointerKind;
using format::RootKind;

class PipeSink final : public format::ByteSink {
 public:
  explicit PipeSink(int fd) : fd_(fd) {}
  bool write(const void* data, size_t bytes) override {
    auto* p = static_cast<const char*>(data);
    while (bytes > 0) {
      long n = syscall(SYS_write, fd_, p, bytes);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) syscall(SYS_exit_group, 1);  // the writer is gone: nobody wants this
      p += n;
      bytes -= static_cast<size_t>(n);
    }
    return true;
  }

 private:
  int fd_;
};

// Whether a file mapping is a device's (a GPU's, a frame buffer's): its memory is not
// scanned, as memcheck does not scan it either, since reading it may hang or act on the
// device. Not /dev/zero, whose private mappings are plain memory.
bool deviceMapping(const MappingLine& m) {
  if (m.inode == 0 || m.path[0] != '/' || strcmp(m.path, "/dev/zero") == 0) return false;
  struct stat node {};
  return syscall(SYS_newfstatat, AT_FDCWD, m.path, &node, 0) == 0 && node.st_ino == m.inode &&
         (S_ISCHR(node.st_mode) || S_ISBLK(node.st_mode));
}

// The readable mappings of this (copied) address space, sorted, from /proc/self/maps.
struct Readable {
  static constexpr uint8_t kWritable = 1, kAnonymous = 2, kHeap = 4, kReadOnlyFile = 8,
                           kDevice = 16, kPrivateAnonymous = 32;
  SnapshotJob::Range* ranges = nullptr;
  uint8_t* flags = nullptr;  // per range: the k* above
  uint32_t count = 0;

  void load() {
    constexpr uint32_t kCapacity = SnapshotJob::kMaxMappings;
    ranges = static_cast<SnapshotJob::Range*>(mapChildMemory(kCapacity * sizeof *ranges));
    flags = static_cast<uint8_t*>(mapChildMemory(kCapacity));
    count = 0;
    forEachProcLine("/proc/thread-self/maps", [&](const char* line) {
      MappingLine m;
      if (!parseMappingLine(line, &m) || !m.readable() || count == kCapacity) return;
      // The kernel's pages in every process hold no program data, and some fault when
      // read (vvar pages for clocks the machine lacks: SIGBUS).
      if (strncmp(m.path, "[vvar", 5) == 0 || strcmp(m.path, "[vdso]") == 0 ||
          strcmp(m.path, "[vsyscall]") == 0) {
        return;
      }
      uint8_t kind = 0;
      if (m.writable()) kind |= kWritable;
      if (m.anonymous()) kind |= kAnonymous;
      if (strcmp(m.path, "[heap]") == 0) kind |= kHeap;
      if (m.inode != 0 && !m.writable()) kind |= kReadOnlyFile;  // where vtables live
      if (m.writable() && deviceMapping(m)) kind |= kDevice;
      if (m.isPrivate() && m.inode == 0) kind |= kPrivateAnonymous;  // bss, [heap] and the like
      flags[count] = kind;
      ranges[count++] = {m.begin, m.end};
    });
  }

  // This child mapped the guarded mappings again (heap_guard.h): its maps show them
  // without their names and maybe merged with a neighbour. Puts them back as they were.
  void restoreGuarded(const HeapGuard& guard, const GuardedMemory& memory) {
    struct Entry {
      SnapshotJob::Range range;
      uint8_t flags;
    };
    uint32_t guarded = guardedMappingCount(guard);
    auto* entries = static_cast<Entry*>(mapChildMemory((count * 2 + guarded * 2) * sizeof(Entry)));
    uint32_t n = 0;
    uint32_t first = 0;  // the first guarded mapping not wholly below ranges[i] (both sorted)
    for (uint32_t i = 0; i < count; ++i) {
      uint64_t at = ranges[i].begin;
      while (first < guarded && guardedMapping(guard, first).range.end <= at) ++first;
      for (uint32_t g = first; g < guarded && at < ranges[i].end; ++g) {
        const GuardedMapping& m = guardedMapping(guard, g);
        if (m.range.begin >= ranges[i].end) break;
        if (!memory.holds(g)) continue;
        if (m.range.begin > at) entries[n++] = {{at, m.range.begin}, flags[i]};
        at = m.range.end;
      }
      if (at < ranges[i].end) entries[n++] = {{at, ranges[i].end}, flags[i]};
    }
    for (uint32_t g = 0; g < guarded; ++g) {
      const GuardedMapping& m = guardedMapping(guard, g);
      uint8_t kind = kWritable | kPrivateAnonymous | (m.mainHeap ? kHeap : kAnonymous);
      if (memory.holds(g)) entries[n++] = {m.range, kind};
    }
    std::sort(entries, entries + n,
              [](const Entry& a, const Entry& b) { return a.range.begin < b.range.begin; });
    ranges = static_cast<SnapshotJob::Range*>(mapChildMemory(n * sizeof *ranges));
    flags = static_cast<uint8_t*>(mapChildMemory(n));
    for (uint32_t i = 0; i < n; ++i) {
      ranges[i] = entries[i].range;
      flags[i] = entries[i].flags;
    }
    count = n;
  }

  // The readable mapping that contains `address`, or nullptr.
  const SnapshotJob::Range* find(uint64_t address) const {
    auto* end = ranges + count;
    auto* it = std::upper_bound(
        ranges, end, address, [](uint64_t a, const SnapshotJob::Range& r) { return a < r.begin; });
    if (it == ranges) return nullptr;
    --it;
    return address < it->end ? it : nullptr;
  }

  // Calls visit(begin, end) for the readable parts of [begin, end), which may span
  // several mappings (a heap that madvise split, a block across two of them).
  template <typename Visit>
  void clip(uint64_t begin, uint64_t end, Visit&& visit) const {
    const SnapshotJob::Range* it =
        std::upper_bound(ranges, ranges + count, begin,
                         [](uint64_t a, const SnapshotJob::Range& r) { return a < r.begin; });
    if (it != ranges) --it;  // the range that may contain `begin`
    for (; it < ranges + count && it->begin < end; ++it) {
      uint64_t b = std::max(begin, it->begin);
      uint64_t e = std::min(end, it->end);
      if (b < e) visit(b, e);
    }
  }
};

// Below this, a range is read whole: asking which of its pages were written costs more
// (most ranges are blocks, millions of them).
constexpr uint64_t kSparseScanBytes = uint64_t{1} << 20;

// Calls visit(begin, end) for the runs of [begin, end) (inside one readable mapping) to
// read, filled first: for a big range of private anonymous memory, only the pages ever
// written (the rest reads as zeros, populated_pages.h). A guarded mapping's a window at a
// time.
template <typename Visit>
void forEachWrittenRun(const Readable& readable, GuardedMemory& memory, uint64_t begin,
                       uint64_t end, Visit&& visit) {
  if (end - begin < kSparseScanBytes) {
    memory.fill(begin, end);
    visit(begin, end);
    return;
  }
  const SnapshotJob::Range* mapping = readable.find(begin);
  bool sparse =
      mapping && (readable.flags[mapping - readable.ranges] & Readable::kPrivateAnonymous);
  for (uint64_t from = memory.firstWithContent(begin, end), to; from < end;
       from = memory.firstWithContent(to, end)) {
    to = std::min(end, memory.windowEnd(from));
    memory.fill(from, to);
    WrittenRuns runs(from, to, sparse);
    for (uint64_t b, e; runs.next(&b, &e);) visit(b, e);
  }
}

// Live blocks sorted by address, with a hash of their start addresses.
class BlockIndex {
 public:
  void build() {
    count_ = rings.liveBlockCount();
    blocks_ = static_cast<LiveBlock*>(mapChildMemory(count_ * sizeof(LiveBlock)));
    uint64_t n = 0;
    for (uint32_t r = 0; r < rings.count(); ++r) {
      if (const Ring* ring = rings.at(r)) {
        ring->blocks.forEach([&](const LiveBlock& b) {
          if (n < count_) blocks_[n++] = b;
        });
        if (ring->reallocating.address && n < count_) blocks_[n++] = ring->reallocating;
      }
    }
    auto* scratch =
        static_cast<LiveBlock*>(mapChildMemory(std::max<uint64_t>(n, 1) * sizeof(LiveBlock)));
    auto* counts = static_cast<uint64_t*>(mapChildMemory(kBlockSortCountWords * sizeof(uint64_t)));
    LiveBlock* sorted = sortByAddress(blocks_, n, scratch, counts);
    LiveBlock* unused = sorted == blocks_ ? scratch : blocks_;
    blocks_ = sorted;
    // An address twice (a free the hooks missed, the block still in a table when the
    // address came back): the newer allocation is the live one.
    count_ = 0;
    for (uint64_t i = 0; i < n; ++i) {
      if (count_ && blocks_[count_ - 1].address == blocks_[i].address) {
        if (blocks_[i].allocTimeMs >= blocks_[count_ - 1].allocTimeMs)
          blocks_[count_ - 1] = blocks_[i];
      } else {
        blocks_[count_++] = blocks_[i];
      }
    }
    buildStartHash(unused, wholePages(std::max<uint64_t>(n, 1) * sizeof(LiveBlock)));
    low_ = count_ ? blocks_[0].address : 0;
    high_ =
        count_ ? blocks_[count_ - 1].address + std::max<uint64_t>(blocks_[count_ - 1].size, 1) : 0;
  }

  // The hash of start addresses goes where the sort's other buffer was (`room`): a table of
  // 2-4 slots of 4 bytes per block always fits in its 24 bytes per block (a whole page for
  // fewer than two blocks), and memory the child
  // maps afresh costs a fault and a cleared page each (its pages the sort wrote, unless the
  // blocks needed no sorting). What it leaves of the room goes. The slots are written in
  // address order, which the hash scatters: the slot of a block a little further on is
  // fetched ahead, so that the cache misses overlap.
  void buildStartHash(void* room, uint64_t roomBytes) {
    uint64_t capacity = 2;
    while (capacity < count_ * 2) capacity <<= 1;
    uint64_t bytes = wholePages(capacity * sizeof(uint32_t));
    if (count_ >= UINT32_MAX) return;  // slots hold 32 bits: lookups search the blocks
    slots_ = static_cast<uint32_t*>(room);
    mask_ = capacity - 1;
    memset(slots_, 0, bytes);
    if (bytes < roomBytes) {
      syscall(SYS_madvise, static_cast<char*>(room) + bytes, roomBytes - bytes, MADV_DONTNEED);
    }
    constexpr uint64_t kAhead = 16;
    for (uint64_t i = 0; i < count_; ++i) {
      if (i + kAhead < count_) {
        __builtin_prefetch(&slots_[hash(blocks_[i + kAhead].address) & mask_], 1);
      }
      uint64_t at = hash(blocks_[i].address) & mask_;
      while (slots_[at]) at = (at + 1) & mask_;
      slots_[at] = static_cast<uint32_t>(i + 1);
    }
  }

  uint64_t count() const { return count_; }
  const LiveBlock& at(uint64_t i) const { return blocks_[i]; }

  // Index of the first block that starts at or after `address` (count() when none).
  uint64_t firstAtOrAfter(uint64_t address) const {
    auto* last = blocks_ + count_;
    auto* it = std::lower_bound(blocks_, last, address,
                                [](const LiveBlock& b, uint64_t v) { return b.address < v; });
    return static_cast<uint64_t>(it - blocks_);
  }

  static constexpr uint64_t kNoHint = UINT64_MAX;

  // The block `value` points into: returns false when none; *interior when not its start.
  // `near`: the index of the block being scanned, whose neighbours are looked at first.
  bool lookup(uint64_t value, uint64_t* index, bool* interior, uint64_t near = kNoHint) const {
    if (value < low_ || value >= high_) return false;  // most words are no pointers
    uint64_t first, last;
    if (near != kNoHint && withinNeighbours(value, near, &first, &last)) {
      return containing(value, first, last + 1, index, interior);
    }
    for (uint64_t at = hash(value) & mask_; slots_[at]; at = (at + 1) & mask_) {
      if (blocks_[slots_[at] - 1].address == value) {
        *index = slots_[at] - 1;
        *interior = false;
        return true;
      }
    }
    return containing(value, 0, count_, index, interior);
  }

 private:
  // Pointers often lead to a neighbour (a list or a tree built in allocation order): the
  // blocks around the one being scanned are in cache, a hash slot rarely is. True when
  // `value` lies in the span of the blocks [*first, *last] around `near`: the block
  // holding it, if any, is one of them.
  bool withinNeighbours(uint64_t value, uint64_t near, uint64_t* first, uint64_t* last) const {
    constexpr uint64_t kReach = 4;
    *first = near > kReach ? near - kReach : 0;
    *last = std::min(count_, near + kReach + 1) - 1;
    return value >= blocks_[*first].address && value < blocks_[*last].address + blocks_[*last].size;
  }

  // The block among [from, to) that holds `value` (which is not below blocks_[from]).
  bool containing(uint64_t value, uint64_t from, uint64_t to, uint64_t* index,
                  bool* interior) const {
    auto* it = std::upper_bound(blocks_ + from, blocks_ + to, value,
                                [](uint64_t v, const LiveBlock& b) { return v < b.address; });
    if (it == blocks_ + from) return false;
    --it;
    if (value >= it->address + it->size) return false;
    *index = static_cast<uint64_t>(it - blocks_);
    *interior = value != it->address;
    return true;
  }

  static uint64_t hash(uint64_t v) { return (v * 0x9e3779b97f4a7c15ull) >> 17; }

  LiveBlock* blocks_ = nullptr;
  uint64_t count_ = 0;
  static inline uint32_t noSlots_[1] = {};  // an empty table of one slot, until there is one
  uint32_t* slots_ = noSlots_;              // block index + 1; 0 empty
  uint64_t mask_ = 0;
  uint64_t low_ = 0, high_ = 0;
};

// Finds the block a word points into. Like memcheck by default, an interior pointer of a
// shape C++ runtimes and common libraries make on purpose counts as a start pointer:
//   std::string (old ABI): to the characters after length, capacity and refcount, where
//     the block holds exactly 24 bytes + capacity + 1 and length <= capacity;
//   length64: to the second word, where the first holds the size of the rest;
//   new[] cookie: to the second word, where the first is an element count that divides
//     the rest (V8's slot sets keep such a count too);
//   multiple inheritance: to a word that, like the block's first, points at a vtable
//     (both in read-only parts of loaded files).
class PointerFinder {
 public:
  PointerFinder(const BlockIndex& index, const Readable& readable, const GuardedMemory& memory)
      : index_(index), readable_(readable), memory_(memory) {}

  // `near`: the block being scanned (BlockIndex::lookup), kNoHint for roots.
  __attribute__((always_inline)) bool find(uint64_t value, uint64_t* block, PointerKind* pointer,
                                           uint64_t near) const {
    bool interior;
    if (!index_.lookup(value, block, &interior, near)) return false;
    if (!interior) {
      *pointer = PointerKind::Start;
      return true;
    }
    const LiveBlock& b = index_.at(*block);
    if (chunkAfter(b, value)) return false;
    *pointer = kindOfInterior(b, value);
    return true;
  }

 private:
  // glibc malloc's pointer to the chunk right after b: its header is 16 bytes before that
  // chunk's memory, and b's last word may be its first (a block of 4,321 bytes ends so).
  // malloc leaves such pointers in registers and dead frames (calloc's chunk, the top
  // chunk); taken for a pointer into b, b was "possibly lost" instead of definitely, now
  // and then (the sample's leak, in 1 of 8 suite runs). Memcheck's own malloc keeps no
  // headers there.
  bool chunkAfter(const LiveBlock& b, uint64_t value) const {
    if (value % 16 != 0 || value + 16 < b.address + b.size) return false;
    uint64_t sizeWord = 0;  // the chunk's size, and in its low bits whether glibc mapped it
    constexpr uint64_t kMapped = 2;
    if (!memory_.read(b.address - 8, &sizeWord, sizeof sizeWord) || (sizeWord & kMapped)) {
      return false;
    }
    // A chunk holds its size word and the block, and ends inside the block only if it
    // is shorter than the block and a header: another allocator's word there (a size of
    // its own) is not taken for glibc's.
    uint64_t chunk = sizeWord & ~uint64_t{7};
    return chunk >= b.size + 8 && chunk < b.size + 16 && b.address - 16 + chunk == value;
  }

  // Which heuristic, if any, takes `value` (inside b) for a start pointer; memcheck tries
  // them in this order.
  __attribute__((noinline)) PointerKind kindOfInterior(const LiveBlock& b, uint64_t value) const {
    const auto* mapping = readable_.find(b.address);
    if (!mapping || b.address + std::min<uint64_t>(b.size, 24) > mapping->end) {
      return PointerKind::Interior;
    }
    // Its first words (up to three), read a page at a time: they may straddle two pages,
    // and a guarded page is read on its own.
    uint64_t words[3] = {};
    uint64_t head = std::min<uint64_t>(b.size, 24) & ~uint64_t{7};
    uint64_t inPage = kPageBytes - (b.address & (kPageBytes - 1));
    if (!memory_.read(b.address, words, std::min(head, inPage)) ||
        (head > inPage && !memory_.read(b.address + inPage, reinterpret_cast<char*>(words) + inPage,
                                        head - inPage))) {
      return PointerKind::Interior;
    }
    uint64_t offset = value - b.address;
    if (remembersItsStart(b, value, *mapping)) return PointerKind::Start;
    if (offset == 24 && b.size >= 24) {
      uint64_t length = words[0], capacity = words[1];
      if (capacity < b.size && 24 + capacity + 1 == b.size && length <= capacity) {
        return PointerKind::StdString;
      }
    }
    if (offset == 8 && b.size >= 8 && words[0] == b.size - 8) return PointerKind::Length64;
    if (offset == 8 && b.size >= 8 && words[0] > 0 && (b.size - 8) % words[0] == 0) {
      return PointerKind::NewArray;
    }
    if (value % 8 == 0 && value + 8 <= mapping->end) {
      uint64_t inner = 0;
      if (memory_.read(value, &inner, sizeof inner) && vtable(inner) && vtable(words[0])) {
        return PointerKind::MultipleInheritance;
      }
    }
    return PointerKind::Interior;
  }

  // A block carved to a cache-line boundary, whose aligned part keeps the block's own
  // start in its second word to free it by: glibc's ld.so does that for the tables
  // `_dl_find_object` searches (128 bytes; memcheck, which has glibc free them at exit,
  // reports nothing; taken for interior pointers, every program that had dlopened something
  // showed them "possibly lost"). The pointer to the aligned part is the block's owner.
  bool remembersItsStart(const LiveBlock& b, uint64_t value, const AddressRange& mapping) const {
    uint64_t second = 0;
    return value % 64 == 0 && value + 16 <= b.address + b.size && value + 16 <= mapping.end &&
           memory_.read(value + 8, &second, sizeof second) && second == b.address;
  }

  bool vtable(uint64_t address) const {
    if (address % 8 != 0 || address < 4096) return false;
    const auto* mapping = readable_.find(address);
    if (!mapping) return false;
    uint32_t i = static_cast<uint32_t>(mapping - readable_.ranges);
    return readable_.flags[i] & Readable::kReadOnlyFile;
  }

  const BlockIndex& index_;
  const Readable& readable_;
  const GuardedMemory& memory_;
};

// `near`: the index of the block [begin, end) belongs to, or BlockIndex::kNoHint.
template <typename Found>
void scanWords(uint64_t begin, uint64_t end, const PointerFinder& finder, uint64_t near,
               Found&& found) {
  begin = (begin + 7) & ~uint64_t{7};
  for (uint64_t at = begin; at + 8 <= end; at += 8) {
    uint64_t value = *reinterpret_cast<const uint64_t*>(at);
    uint64_t block;
    PointerKind pointer;
    if (finder.find(value, &block, &pointer, near)) found(at, block, pointer);
  }
}

constexpr uint64_t kArenaHeapBytes = uint64_t{64} << 20;

// Whether a thread arena's heap starts at `base` (64 MiB aligned, readable): it starts
// with glibc's heap_info (arena pointer, previous heap, size, mprotect size).
bool arenaHeapAt(uint64_t base, const GuardedMemory& memory) {
  uint64_t info[4];
  if (!memory.read(base, info, sizeof info)) return false;
  uint64_t size = info[2], mprotectSize = info[3];
  return info[0] != 0 && size > 0 && size <= kArenaHeapBytes && mprotectSize >= size;
}

// glibc malloc's own memory, whose free chunks hold stale pointers: the main heap
// ([heap], named by the caller), a thread arena's heap, or a chunk glibc mapped for one
// large block (the mapping starts just before that block). A thread arena's heap may show
// as several mappings, only the first at its start: a part guarded by an earlier snapshot
// stays a mapping apart from what the heap grew by since.
bool mallocHeap(uint64_t begin, uint64_t end, const BlockIndex& index, const Readable& readable,
                const GuardedMemory& memory) {
  uint64_t base = begin & ~(kArenaHeapBytes - 1);
  if (end - base <= kArenaHeapBytes && (base == begin || readable.find(base)) &&
      arenaHeapAt(base, memory)) {
    return true;
  }
  uint64_t first = index.firstAtOrAfter(begin);
  if (first < index.count()) {
    const LiveBlock& b = index.at(first);
    if (b.address - begin <= 64 && b.address + b.size <= end && end - (b.address + b.size) < 8192 &&
        b.size >= 64 * 1024) {
      return true;
    }
  }
  return false;
}

// Calls visit(begin, end) for the parts of [begin, end) that are the program's own memory
// still to scan: not the tracer's arena, not what an allocator mapped inside a hooked
// call, not the objects' writable segments (scanned as data, or the tracer's own), and
// not this child's own memory (its lists of mappings hold addresses inside blocks).
// The kernel merges adjacent anonymous mappings with the same flags into one, so these
// holes can sit inside a mapping of the program's: a region mapped right after a
// library's .bss is one mapping with it.
template <typename Visit>
void forEachOwnPart(const SnapshotJob& job, uint64_t begin, uint64_t end, Visit&& visit) {
  constexpr size_t kMaxAllocatorHoles = 256;
  constexpr size_t kMaxHoles = kMaxAllocatorHoles + kMaxTracerRanges + 64 + 128;
  AddressRange holes[kMaxHoles];
  size_t n = allocatorMappingsIn(begin, end, holes, kMaxAllocatorHoles);
  if (n > kMaxAllocatorHoles) return;  // a mapping made of that many allocator pieces
  auto hole = [&](uint64_t b, uint64_t e) {
    if (b < end && begin < e && n < kMaxHoles) holes[n++] = {b, e};
  };
  AddressRange tracer[kMaxTracerRanges];
  for (uint32_t i = 0, n = tracerRanges(tracer, kMaxTracerRanges); i < n; ++i) {
    hole(tracer[i].begin, tracer[i].end);
  }
  for (uint32_t i = 0; i < job.segmentCount; ++i) hole(job.segments[i].begin, job.segments[i].end);
  for (uint32_t i = 0; i < job.ownSegmentCount; ++i) {
    hole(job.ownSegments[i].begin, job.ownSegments[i].end);
  }
  for (size_t i = 0; i < childMemoryCount(); ++i) hole(childMemory(i).begin, childMemory(i).end);
  std::sort(holes, holes + n,
            [](const AddressRange& a, const AddressRange& b) { return a.begin < b.begin; });
  uint64_t at = begin;
  for (size_t i = 0; i < n && at < end; ++i) {
    if (holes[i].begin > at) visit(at, std::min(holes[i].begin, end));
    at = std::max(at, holes[i].end);
  }
  if (at < end) visit(at, end);
}

// glibc keeps a thread's DTV (its table of TLS blocks, from calloc) by a pointer one
// 16-byte entry into it, the first entry holding the length: that pointer is the `dtv`
// word of the thread's TCB, between the TCB's two pointers to itself. It owns the DTV as
// a start pointer would; taken for an interior pointer, every thread's DTV was "possibly
// lost" (memcheck, which has glibc free them at exit, reports nothing).
bool tcbOwnsDtv(uint64_t at, uint64_t begin, uint64_t end, const LiveBlock& block) {
  auto word = [](uint64_t address) { return *reinterpret_cast<const uint64_t*>(address); };
  uint64_t tcb = at - 8;
  return at >= begin + 8 && at + 16 <= end && word(at) == block.address + 16 && word(tcb) == tcb &&
         word(at + 8) == tcb;
}

void writeRoots(const SnapshotJob& job, const BlockIndex& index, const Readable& readable,
                GuardedMemory& memory, format::SnapshotWriter& out) {
  PointerFinder finder(index, readable, memory);
  auto rootsIn = [&](RootKind kind, uint64_t begin, uint64_t end) {
    readable.clip(begin, end, [&](uint64_t clipBegin, uint64_t clipEnd) {
      forEachWrittenRun(readable, memory, clipBegin, clipEnd, [&](uint64_t b, uint64_t e) {
        scanWords(b, e, finder, BlockIndex::kNoHint,
                  [&](uint64_t at, uint64_t block, PointerKind pointer) {
                    if (kind == RootKind::Tls && pointer == PointerKind::Interior &&
                        tcbOwnsDtv(at, b, e, index.at(block))) {
                      pointer = PointerKind::Start;
                    }
                    out.root(kind, pointer, block, at);
                  });
      });
    });
  };
  for (uint32_t i = 0; i < job.segmentCount; ++i) {
    const auto& segment = job.segments[i];
    const auto& arena = job.mallocState;  // inside one segment, or empty
    if (arena.end > segment.begin && arena.begin < segment.end) {
      rootsIn(RootKind::Data, segment.begin, arena.begin);
      rootsIn(RootKind::Data, arena.end, segment.end);
    } else {
      rootsIn(RootKind::Data, segment.begin, segment.end);
    }
  }
  for (uint32_t i = 0; i < job.threadCount; ++i) {
    const auto& t = job.threads[i];
    if (!t.stopped || t.gone) continue;
    const auto& r = registersOf(job, t);
    const unsigned long long registers[] = {r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8,
                                            r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
    for (unsigned long long value : registers) {
      uint64_t block;
      PointerKind pointer;
      if (finder.find(value, &block, &pointer, BlockIndex::kNoHint))
        out.root(RootKind::Register, pointer, block, 0);
    }
    // The stack from 128 bytes below the stack pointer (the red zone holds live data; not
    // at a call) to the end of its mapping; older frames below are dead.
    uint64_t redZone = t.tid == job.interruptedTid && job.interruptedAtCall ? 0 : 128;
    if (const auto* stack = readable.find(r.rsp)) {
      rootsIn(RootKind::Stack, std::max<uint64_t>(stack->begin, r.rsp - redZone), stack->end);
    }
    // Static TLS sits below fs_base, the thread control block (with the DTV) above, all in
    // one allocation. ld.so's static TLS size counts the control block too, so the range
    // reaches past the allocation's start: kept inside the mapping that holds fs_base.
    // ld.so puts the main thread's allocation at the start of a mapping, and what lies
    // below is no root (the kernel's [vvar_vclock], say, whose second page faults).
    if (const auto* tcb = r.fs_base ? readable.find(r.fs_base) : nullptr) {
      rootsIn(RootKind::Tls, std::max<uint64_t>(tcb->begin, r.fs_base - job.tlsBelow),
              std::min<uint64_t>(tcb->end, r.fs_base + 2304));
    }
  }
  // Every other writable or anonymous mapping: glibc's cached thread stacks, ld.so's TLS, JIT
  // heaps, arenas of the program's own such as pymalloc's (memcheck scans these too). Not: the
  // malloc heap itself (freed chunks keep stale pointers), the tracer's memory and the
  // writer thread's stack, live threads' stacks (scanned from their stack pointer above),
  // the objects' segments (scanned as data above) and devices' memory. Live blocks inside a scanned
  // mapping are left out: they are nodes of the graph, not roots.
  auto excluded = [&](uint64_t begin, uint64_t end) {
    if (mallocHeap(begin, end, index, readable, memory)) return true;
    if (job.guard && heapGuardMemory(*job.guard).overlaps(begin, end)) return true;
    if (job.creatorStack >= begin && job.creatorStack < end) return true;
    for (uint32_t i = 0; i < job.threadCount; ++i) {
      uint64_t rsp = registersOf(job, job.threads[i]).rsp;
      if (job.threads[i].stopped && rsp >= begin && rsp < end) return true;
    }
    return false;
  };
  for (uint32_t i = 0; i < readable.count; ++i) {
    const auto& m = readable.ranges[i];
    // Writable mappings, and anonymous ones that are not: JIT code pages, which V8 keeps
    // read-only and executable while it does not write them, hold pointers too.
    uint8_t flags = readable.flags[i];
    bool candidate = (flags & Readable::kWritable) || (flags & Readable::kAnonymous);
    if (!candidate || (flags & (Readable::kHeap | Readable::kDevice)) || excluded(m.begin, m.end))
      continue;
    const SnapshotJob::Range* dead = nullptr;
    for (uint32_t k = 0; k < job.deadStackCount && !dead; ++k) {
      if (job.deadStacks[k].end > m.begin && job.deadStacks[k].end <= m.end)
        dead = &job.deadStacks[k];
    }
    if (dead) {
      // A cached stack: its top holds the thread control block and the static TLS (ld.so's
      // static TLS size counts both); the thread's first frame starts right below.
      uint64_t live = job.tlsBelow + 64;
      rootsIn(RootKind::Tls, std::max<uint64_t>(m.begin, dead->end - live), dead->end);
      continue;
    }
    forEachOwnPart(job, m.begin, m.end, [&](uint64_t begin, uint64_t end) {
      uint64_t at = begin;
      for (uint64_t b = index.firstAtOrAfter(begin); b < index.count() && at < end; ++b) {
        const LiveBlock& block = index.at(b);
        if (block.address >= end) break;
        rootsIn(RootKind::Mapping, at, block.address);
        at = std::max(at, block.address + block.size);
      }
      if (at < end) rootsIn(RootKind::Mapping, at, end);
    });
  }
}

void writeEdges(const BlockIndex& index, const Readable& readable, GuardedMemory& memory,
                format::SnapshotWriter& out) {
  PointerFinder finder(index, readable, memory);
  // The readable mapping the last block lay in: blocks come in address order, and most
  // lie in the mapping before them (8.4M blocks of 64 bytes: no search for each).
  uint64_t mappingBegin = 0, mappingEnd = 0;
  for (uint64_t from = 0; from < index.count(); ++from) {
    const LiveBlock& b = index.at(from);
    uint64_t previous = UINT64_MAX;
    auto scan = [&](uint64_t scanBegin, uint64_t scanEnd) {
      forEachWrittenRun(readable, memory, scanBegin, scanEnd, [&](uint64_t begin, uint64_t end) {
        scanWords(begin, end, finder, from, [&](uint64_t, uint64_t to, PointerKind pointer) {
          uint64_t key = to << 3 | static_cast<uint64_t>(pointer);
          if (key == previous) return;  // runs of one pointer (arrays of it) count once
          previous = key;
          out.edge(from, to, pointer);
        });
      });
    };
    uint64_t end = b.address + b.size;
    if (b.address < mappingBegin || end > mappingEnd) {
      const SnapshotJob::Range* mapping = readable.find(b.address);
      mappingBegin = mapping ? mapping->begin : 0;
      mappingEnd = mapping ? mapping->end : 0;
    }
    if (b.address >= mappingBegin && end <= mappingEnd) {
      scan(b.address, end);
    } else {
      readable.clip(b.address, end, scan);  // across mappings, or partly unreadable
    }
  }
}

// Whether a live block lies in [begin, end), wholly or in part.
bool overlapsBlock(const BlockIndex& index, uint64_t begin, uint64_t end) {
  uint64_t next = index.firstAtOrAfter(begin);
  if (next < index.count() && index.at(next).address < end) return true;
  if (next == 0) return false;
  const LiveBlock& before = index.at(next - 1);
  return before.address + before.size > begin;
}

// Guarded memory whose content at the stop the child could not have (heap_guard.h): the
// snapshot is incomplete if a live block was there, or if it was a root (a mapping of the
// program's own, such as pymalloc's arenas or V8's heap, rather than malloc's).
class LostMemory {
 public:
  static void note(void* self, uint64_t begin, uint64_t end) {
    auto& lost = *static_cast<LostMemory*>(self);
    if (!lost.ranges_)
      lost.ranges_ = static_cast<AddressRange*>(mapChildMemory(kMax * sizeof *lost.ranges_));
    if (lost.count_ && lost.ranges_[lost.count_ - 1].end == begin) {
      lost.ranges_[lost.count_ - 1].end = end;
    } else if (lost.count_ < kMax) {
      lost.ranges_[lost.count_++] = {begin, end};
    } else {
      lost.overflow_ = true;
    }
  }

  bool mattered(const HeapGuard* guard, const BlockIndex& index, const Readable& readable,
                const GuardedMemory& memory) const {
    if (overflow_) return true;
    for (uint32_t i = 0; i < count_; ++i) {
      if (overlapsBlock(index, ranges_[i].begin, ranges_[i].end)) return true;
      int64_t g = guard ? guardedMappingAt(*guard, ranges_[i].begin) : -1;
      if (g < 0) return true;
      const GuardedMapping& m = guardedMapping(*guard, static_cast<uint32_t>(g));
      if (!m.mainHeap && !mallocHeap(m.range.begin, m.range.end, index, readable, memory))
        return true;
    }
    return false;
  }

 private:
  static constexpr uint32_t kMax = 65536;
  AddressRange* ranges_ = nullptr;
  uint32_t count_ = 0;
  bool overflow_ = false;
};

// What the scan reads of the program's: a fault there reads as zeros (unreadable_pages.h).
// Not the tracer's memory, this child's or the guard's copies: a fault there is a bug,
// which the scan dies of once it has written where it was into the trace.
struct ProgramMemory {
  const SnapshotJob& job;
  const Readable& readable;  // nothing until loaded
  format::SnapshotWriter& out;

  static bool contains(const void* self, uint64_t address) {
    const auto& p = *static_cast<const ProgramMemory*>(self);
    if (!p.readable.find(address) || overlapsTracerMemory(address, address + 1)) return false;
    if (p.job.guard && heapGuardMemory(*p.job.guard).overlaps(address, address + 1)) return false;
    for (size_t i = 0; i < childMemoryCount(); ++i) {
      if (childMemory(i).overlaps(address, address + 1)) return false;
    }
    return true;
  }

  static void fatal(const void* self, const UnreadableRun& fault) {
    const auto& p = *static_cast<const ProgramMemory*>(self);
    p.out.unreadable(fault.begin, fault.end, fault.signal, fault.code, fault.mapping, true);
  }
};

// Notes what the scan read as zeros; whether the snapshot missed anything by it: a live
// block there (its pointers), or more than could be noted.
bool noteUnreadable(const BlockIndex& index, format::SnapshotWriter& out) {
  bool missed = unreadableRunsOverflowed();
  for (uint32_t i = 0; i < unreadableRunCount(); ++i) {
    const UnreadableRun& run = unreadableRun(i);
    out.unreadable(run.begin, run.end, run.signal, run.code, run.mapping);
    missed = missed || overlapsBlock(index, run.begin, run.end);
  }
  return missed;
}

}  // namespace

int heapScanMain(void* arg) {
  const auto& job = *static_cast<const SnapshotJob*>(arg);
  // When memory runs out, the kernel's out-of-memory killer is to take this copy, never
  // the program (both look alike to it: the same resident pages). The writer then notes
  // the snapshot failed.
  int oom = static_cast<int>(syscall(SYS_open, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
  if (oom >= 0) {
    syscall(SYS_write, oom, "1000", 4);
    syscall(SYS_close, oom);
  }
  syscall(SYS_prctl, PR_SET_NAME, "tidemark-scan");  // what ps shows: not the writer
  // Made while the stop had the program dumpable: it holds a copy of the program's
  // memory, and no other process of its user may read it unless it could the program's.
  if (!job.programDumpable) syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  // Holding a read end itself, the child would wait forever on a full pipe once the
  // writer stopped reading (the program exited, or gave up on the snapshot); without it,
  // its writes then fail and it exits.
  syscall(SYS_close, job.inFd);
  // Wait until the helper has resumed the program's threads (its end of the gate closes).
  if (job.startGateRead >= 0) {
    syscall(SYS_close, job.startGateWrite);
    pollfd gate{job.startGateRead, POLLIN, 0};
    syscall(SYS_poll, &gate, 1, SnapshotJob::kStartGateMs);
    syscall(SYS_close, job.startGateRead);
  }
  // The guarded memory first: it maps the guarded mappings again before this child maps
  // anything else (guarded_memory.cpp), and the mappings are listed with them in.
  LostMemory lost;
  GuardedMemory memory(job.guard, LostMemory::note, &lost);
  PipeSink sink(job.outFd);
  auto* out =
      new (mapChildMemory(sizeof(format::SnapshotWriter))) format::SnapshotWriter(&sink, job.id);
  Readable readable;
  ProgramMemory programMemory{job, readable, *out};
  readUnreadableAsZeros(ProgramMemory::contains, ProgramMemory::fatal, &programMemory);
  readable.load();
  if (job.guard) readable.restoreGuarded(*job.guard, memory);
  BlockIndex index;
  index.build();
  format::SnapshotBeginRecord begin{};
  begin.timeUs = job.timeUs;
  begin.id = job.id;
  begin.trigger = static_cast<uint32_t>(job.trigger);
  begin.flags = job.incomplete |
                (allocatorMappingsLost() ? format::kSnapshotAllocatorMappingsLost : 0) |
                (job.guard ? format::kSnapshotGuarded : 0);
  begin.threadsNotStopped = job.threadsNotStopped;
  begin.blocks = index.count();
  out->begin(begin);
  for (uint64_t i = 0; i < index.count(); ++i) {
    const LiveBlock& b = index.at(i);
    out->block(b.address, b.size, b.stack, uint64_t{b.allocTimeMs} * 1000);
  }
  writeRoots(job, index, readable, memory, *out);
  writeEdges(index, readable, memory, *out);
  // What the program took away from under the guard is known once the scan is over.
  memory.finish();
  bool missed = noteUnreadable(index, *out);
  out->end(
      (missed ? format::kSnapshotBlocksUnreadable : 0) |
      (lost.mattered(job.guard, index, readable, memory) ? format::kSnapshotGuardLostMemory : 0));
  syscall(SYS_exit_group, 0);
  return 0;
}

}  // namespace tidemark::preload
