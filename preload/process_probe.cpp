// /proc and mincore probes for the writer thread (see process_probe.h).
#include "process_probe.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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

void findMappings(const uintptr_t* addresses, uint32_t count, uint64_t* lows, uint64_t* highs) {
  // Large enough for programs with thousands of mappings (node has ~1000).
  static char maps[1 << 20];
  size_t n = readProcFile("/proc/thread-self/maps", maps, sizeof maps - 1);
  maps[n] = '\0';
  for (char* line = maps; line && *line;) {
    char* end;
    uint64_t begin = strtoull(line, &end, 16);
    uint64_t finish = *end == '-' ? strtoull(end + 1, &end, 16) : 0;
    for (uint32_t i = 0; i < count; ++i) {
      if (addresses[i] >= begin && addresses[i] < finish) {
        lows[i] = begin;
        highs[i] = finish;
      }
    }
    line = strchr(line, '\n');
    if (line) ++line;
  }
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
  size_t n = readProcFile("/proc/thread-self/statm", text, sizeof text - 1);
  text[n] = '\0';
  char* end;
  strtoull(text, &end, 10);
  return strtoull(end, nullptr, 10) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

bool otherThreadRuns(int32_t except) {
  int fd = ::open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return true;  // cannot tell: as if it did
  bool runs = false;
  alignas(8) char entries[4096];
  long bytes;
  while (!runs && (bytes = syscall(SYS_getdents64, fd, entries, sizeof entries)) > 0) {
    for (long at = 0; at < bytes && !runs;) {
      // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
      unsigned short length;
      memcpy(&length, entries + at + 16, sizeof length);
      const char* name = entries + at + 19;
      at += length;
      if (name[0] < '0' || name[0] > '9' || atoi(name) == except) continue;
      char path[64], stat[512];
      snprintf(path, sizeof path, "/proc/self/task/%s/stat", name);
      size_t n = readProcFile(path, stat, sizeof stat - 1);
      stat[n] = '\0';
      const char* close = strrchr(stat, ')');  // the name may hold spaces and parentheses
      runs = close && close[1] == ' ' && close[2] != 'Z' && close[2] != 'X';
    }
  }
  ::close(fd);
  return runs;
}

}  // namespace tidemark::preload
