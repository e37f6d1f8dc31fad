// Test program: maps a page of a file right below the mapping that holds the main thread's
// static TLS (ld.so's allocation, at the start of its own mapping), the file's words all
// the only pointer to a block of 666 bytes, and exits. A read-only file mapping is no
// root. The scan read the TLS from fs_base minus ld.so's static TLS size, which counts
// the thread control block above fs_base too: 2,304 bytes below the allocation, into
// whatever was mapped there. When that was the kernel's [vvar_vclock], whose second page
// faults, the scan was killed (SIGBUS) and the snapshot lost.
//   test_tls_neighbour DIR   the file goes into DIR; prints "mapped", or "no room" when
//                            the page below is taken or the TLS range does not reach it
//                            (nothing to test then). No libstdc++: it would change the
//                            layout ld.so's allocations leave.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

void* volatile sink;

// The start of the mapping that holds `address`, from /proc/self/maps.
uintptr_t mappingStart(uintptr_t address) {
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[512];
  uintptr_t found = 0;
  while (!found && fgets(line, sizeof line, maps)) {
    unsigned long begin, end;
    if (sscanf(line, "%lx-%lx", &begin, &end) == 2 && address >= begin && address < end) {
      found = begin;
    }
  }
  fclose(maps);
  return found;
}

// Writes the address of a new block of 666 bytes over one page of `path` and drops it.
__attribute__((noinline)) bool writeOnlyPointer(const char* path) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return false;
  sink = malloc(666);
  auto value = reinterpret_cast<uintptr_t>(sink);
  sink = nullptr;
  bool ok = true;
  for (int i = 0; i < 4096 / 8 && ok; ++i) ok = write(fd, &value, sizeof value) == sizeof value;
  close(fd);
  return ok;
}

// Overwrites the stack where writeOnlyPointer had its frame.
__attribute__((noinline)) void scrub() {
  volatile char area[16384];
  for (size_t i = 0; i < sizeof area; ++i) area[i] = 0;
}

// Where the scan's TLS range used to start: fs_base minus ld.so's static TLS size.
uintptr_t oldTlsRangeStart() {
  using Info = void (*)(size_t*, size_t*);
  auto info = reinterpret_cast<Info>(dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info"));
  size_t size = 0, align = 0;
  if (info) info(&size, &align);
  return reinterpret_cast<uintptr_t>(__builtin_thread_pointer()) - size;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/neighbour", argv[1]);
  if (!writeOnlyPointer(path)) return 2;
  scrub();
  uintptr_t tls = mappingStart(reinterpret_cast<uintptr_t>(__builtin_thread_pointer()));
  int fd = open(path, O_RDONLY);
  void* page = mmap(reinterpret_cast<void*>(tls - 4096), 4096, PROT_READ,
                    MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
  close(fd);
  bool reached = oldTlsRangeStart() < tls;
  puts(page == reinterpret_cast<void*>(tls - 4096) && reached ? "mapped" : "no room");
  return 0;
}
