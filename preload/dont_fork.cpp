// DONTFORK mappings around the snapshot's clone (see dont_fork.h).
#include "dont_fork.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace tidemark::preload {

namespace {

// Calls visit(line) for each line of a /proc file, through a small buffer on the stack:
// smaps of a big heap is megabytes. Raw system calls only.
template <typename Visit>
void forEachLine(const char* path, Visit&& visit) {
  int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC));
  if (fd < 0) return;
  char buffer[16384];
  size_t held = 0;
  for (;;) {
    long n = syscall(SYS_read, fd, buffer + held, sizeof buffer - 1 - held);
    if (n <= 0) break;
    held += static_cast<size_t>(n);
    buffer[held] = '\0';
    char* line = buffer;
    for (char* newline; (newline = strchr(line, '\n')) != nullptr; line = newline + 1) {
      *newline = '\0';
      visit(line);
    }
    held = strlen(line);  // the unfinished last line moves to the front
    memmove(buffer, line, held);
    if (held == sizeof buffer - 1) held = 0;  // a line longer than the buffer: dropped
  }
  syscall(SYS_close, fd);
}

// A mapping's line, "begin-end perms offset dev inode [path]" (the first line of each
// mapping in smaps; field lines such as "Size:" never start with hex up to a dash).
bool parseMapping(const char* line, uint64_t* begin, uint64_t* end, bool* anonymous) {
  const char* dash = strchr(line, '-');
  if (!dash || line[0] == ' ') return false;
  char* after;
  *begin = strtoull(line, &after, 16);
  if (after != dash) return false;
  *end = strtoull(dash + 1, &after, 16);
  if (*after != ' ') return false;
  const char* field = after;
  for (int skip = 0; skip < 3 && field; ++skip) field = strchr(field + 1, ' ');  // to inode
  uint64_t inode = field ? strtoull(field, &after, 10) : 1;
  while (field && *after == ' ') ++after;
  *anonymous = field && inode == 0 && *after == '\0';
  return true;
}

}  // namespace

void listDontForkMappings(SnapshotJob& job) {
  job.dontForkCount = 0;
  job.anonymousCount = 0;
  uint64_t begin = 0, end = 0;
  forEachLine("/proc/self/smaps", [&](const char* line) {
    if (strncmp(line, "VmFlags:", 8) == 0) {
      // Two-letter flags separated by spaces; "dc": do not copy on fork.
      if (strstr(line + 8, " dc") && job.dontForkCount < SnapshotJob::kMaxDontFork) {
        job.dontFork[job.dontForkCount++] = {begin, end};
      }
      return;
    }
    bool anonymous;
    if (!parseMapping(line, &begin, &end, &anonymous) || !anonymous) return;
    if (job.anonymousCount < SnapshotJob::kMaxAnonymous) {
      job.anonymous[job.anonymousCount++] = {begin, end};
    }
  });
}

bool newAnonymousMappings(const SnapshotJob& job) {
  const SnapshotJob::Range* known = job.anonymous;
  const SnapshotJob::Range* knownEnd = known + job.anonymousCount;
  bool found = false;
  forEachLine("/proc/self/maps", [&](const char* line) {
    uint64_t begin, end;
    bool anonymous;
    if (found || !parseMapping(line, &begin, &end, &anonymous) || !anonymous) return;
    // Both lists are in address order.
    const auto* it =
        std::lower_bound(known, knownEnd, begin,
                         [](const SnapshotJob::Range& r, uint64_t b) { return r.begin < b; });
    found = it == knownEnd || it->begin != begin || it->end != end;
  });
  return found;
}

void setForkable(const SnapshotJob& job, bool forkable) {
  for (uint32_t i = 0; i < job.dontForkCount; ++i) {
    const auto& r = job.dontFork[i];
    syscall(SYS_madvise, r.begin, r.end - r.begin, forkable ? MADV_DOFORK : MADV_DONTFORK);
  }
}

}  // namespace tidemark::preload
