// /proc and mincore probes for the writer thread (see process_probe.h).
#include "process_probe.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tidemark::preload {

size_t readProcFile(const char* path, char* buffer, size_t capacity) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t used = 0;
  while (used < capacity) {
    ssize_t n = ::read(fd, buffer + used, capacity - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  return used;
}

void readThreadName(int32_t tid, char (&name)[16]) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
  size_t n = readProcFile(path, name, sizeof name - 1);
  while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == '\0')) --n;
  name[n] = '\0';
}

bool findMapping(uintptr_t address, uint64_t* low, uint64_t* high) {
  // Large enough for programs with thousands of mappings (node has ~1000).
  static char maps[1 << 20];
  size_t n = readProcFile("/proc/self/maps", maps, sizeof maps - 1);
  maps[n] = '\0';
  for (char* line = maps; line && *line;) {
    char* end;
    uint64_t begin = strtoull(line, &end, 16);
    uint64_t finish = *end == '-' ? strtoull(end + 1, &end, 16) : 0;
    if (address >= begin && address < finish) {
      *low = begin;
      *high = finish;
      return true;
    }
    line = strchr(line, '\n');
    if (line) ++line;
  }
  return false;
}

uint64_t residentBytes(uint64_t low, uint64_t high) {
  static unsigned char pages[1 << 16];
  const uint64_t pageBytes = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t total = 0;
  for (uint64_t at = low; at < high;) {
    uint64_t span = high - at;
    if (span > sizeof pages * pageBytes) span = sizeof pages * pageBytes;
    if (mincore(reinterpret_cast<void*>(at), span, pages) != 0) return total;
    for (uint64_t i = 0; i < span / pageBytes; ++i) total += (pages[i] & 1) * pageBytes;
    at += span;
  }
  return total;
}

uint64_t residentSetBytes() {
  char text[128];
  size_t n = readProcFile("/proc/self/statm", text, sizeof text - 1);
  text[n] = '\0';
  char* end;
  strtoull(text, &end, 10);
  return strtoull(end, nullptr, 10) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace tidemark::preload
