// DONTFORK mappings around the snapshot's clone (see dont_fork.h).
#include "dont_fork.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace tidemark::preload {

uint32_t collectDontForkRanges(SnapshotJob::Range* out, uint32_t capacity) {
  int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  // Line by line through a small buffer: smaps of a big heap is megabytes.
  char buffer[16384];
  size_t held = 0;
  uint32_t count = 0;
  uint64_t begin = 0, end = 0;
  for (;;) {
    ssize_t n = read(fd, buffer + held, sizeof buffer - 1 - held);
    if (n <= 0) break;
    held += static_cast<size_t>(n);
    buffer[held] = '\0';
    char* line = buffer;
    for (char* newline; (newline = strchr(line, '\n')) != nullptr; line = newline + 1) {
      *newline = '\0';
      if (strncmp(line, "VmFlags:", 8) == 0) {
        // Two-letter flags separated by spaces; "dc": do not copy on fork.
        if (strstr(line + 8, " dc") && count < capacity && begin < end) {
          out[count++] = {begin, end};
        }
      } else if (char* dash = strchr(line, '-'); dash && line[0] != ' ') {
        // A mapping's first line, "begin-end perms ...": hex digits right up to the dash
        // (field lines, "Size:" and the like, never are).
        char* after;
        uint64_t b = strtoull(line, &after, 16);
        if (after == dash) {
          uint64_t e = strtoull(dash + 1, &after, 16);
          if (*after == ' ') begin = b, end = e;
        }
      }
    }
    held = strlen(line);  // the unfinished last line moves to the front
    memmove(buffer, line, held);
    if (held == sizeof buffer - 1) held = 0;  // a line longer than the buffer: dropped
  }
  close(fd);
  return count;
}

void setForkable(const SnapshotJob::Range* ranges, uint32_t count, bool forkable) {
  for (uint32_t i = 0; i < count; ++i) {
    syscall(SYS_madvise, ranges[i].begin, ranges[i].end - ranges[i].begin,
            forkable ? MADV_DOFORK : MADV_DONTFORK);
  }
}

}  // namespace tidemark::preload
