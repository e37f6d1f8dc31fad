// Reading /proc/thread-self/maps and smaps with raw system calls only (the snapshot's
// helper and child may call nothing that locks or allocates): one line reader and one
// parser of a mapping's line for every part of the tracer that lists mappings. The tracer
// reads the memory files (maps, smaps, statm, pagemap, mem) of thread-self, never self:
// /proc/self is the main thread's, and once it has left by pthread_exit they are empty.
#pragma once

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace tidemark::preload {

// Calls visit(line) for each line of a /proc file, through a small buffer on the stack:
// smaps of a big heap is megabytes. `line` is writable and ends without its newline.
template <typename Visit>
void forEachProcLine(const char* path, Visit&& visit) {
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

// A mapping's line: "begin-end perms offset dev inode [path]".
struct MappingLine {
  uint64_t begin;
  uint64_t end;
  char perms[4];     // "rwxp": '-' where a permission is missing; 's' for shared
  uint64_t inode;    // 0 for anonymous memory
  const char* path;  // "" when none; "[heap]", "[stack]" and the like for kernel names

  bool readable() const { return perms[0] == 'r'; }
  bool writable() const { return perms[1] == 'w'; }
  bool isPrivate() const { return perms[3] == 'p'; }
  // No file behind it and no kernel name ([heap], [stack] and [vvar] have one).
  bool anonymous() const { return inode == 0 && path[0] == '\0'; }
};

// Parses the first line of each mapping in maps or smaps; false for anything else (the
// field lines of smaps, such as "Size:", never start with hex up to a dash).
inline bool parseMappingLine(const char* line, MappingLine* out) {
  const char* dash = strchr(line, '-');
  if (!dash || line[0] == ' ') return false;
  char* after;
  out->begin = strtoull(line, &after, 16);
  if (after != dash) return false;
  out->end = strtoull(dash + 1, &after, 16);
  if (*after != ' ' || strlen(after) < 6) return false;
  memcpy(out->perms, after + 1, 4);
  // offset, dev, inode follow the permissions, one space apart.
  const char* field = after + 5;
  for (int skip = 0; skip < 2 && field; ++skip) field = strchr(field + 1, ' ');
  char* rest = nullptr;
  out->inode = field ? strtoull(field + 1, &rest, 10) : 0;
  const char* path = rest ? rest : "";
  while (*path == ' ') ++path;
  out->path = path;
  return true;
}

}  // namespace tidemark::preload
