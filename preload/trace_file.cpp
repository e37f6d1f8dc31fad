// The trace file's descriptor (see trace_file.h).
#include "trace_file.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tidemark::preload {

namespace {

// The lowest number the trace's descriptor takes: above what programs open (and what
// select() can watch), below the usual limit of 1024.
constexpr rlim_t kHighFd = 1000;

// `fd` moved to a high free number (closed), or `fd` itself when there is none.
int moveHigh(int fd) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < 64 + 3) return fd;
  rlim_t from = std::min(kHighFd, limit.rlim_cur - 64);
  if (static_cast<rlim_t>(fd) >= from) return fd;
  int high = fcntl(fd, F_DUPFD_CLOEXEC, static_cast<int>(from));
  if (high < 0) return fd;
  ::close(fd);
  return high;
}

}  // namespace

bool TraceFile::adopt(int fd, const char* path) {
  struct stat file {};
  if (fd < 0 || fstat(fd, &file) != 0) return false;
  // Absolute: a daemon changes its directory too (to /), before it closes descriptors.
  path_[0] = '\0';
  if (path[0] != '/' && (!getcwd(path_, sizeof path_) || strlen(path_) + 1 >= sizeof path_)) {
    return false;
  }
  if (path[0] != '/') strcat(path_, "/");
  if (strlen(path_) + strlen(path) >= sizeof path_) return false;
  strcat(path_, path);
  fd_ = moveHigh(fd);
  wholeBytes_ = file.st_size;
  device_ = file.st_dev;
  inode_ = file.st_ino;
  return true;
}

bool TraceFile::stillOurs() const {
  struct stat file {};
  return fstat(fd_, &file) == 0 && file.st_dev == device_ && file.st_ino == inode_;
}

bool TraceFile::reopen() {
  // Not a close of fd_: its number is the program's now, or free.
  int fd = ::open(path_, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  struct stat file {};
  if (fd < 0 || fstat(fd, &file) != 0 || file.st_dev != device_ || file.st_ino != inode_) {
    if (fd >= 0) ::close(fd);
    fd_ = -1;
    return false;
  }
  fd_ = moveHigh(fd);
  return true;
}

bool TraceFile::write(const void* data, size_t bytes) {
  if (fd_ < 0 || (!stillOurs() && !reopen())) {
    error_ = EBADF;
    return false;
  }
  auto* p = static_cast<const unsigned char*>(data);
  off_t whole = wholeBytes_ + static_cast<off_t>(bytes);
  while (bytes > 0) {
    ssize_t n = ::write(fd_, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // disk full or I/O error: the trace ends at its last chunk
      error_ = n < 0 ? errno : ENOSPC;
      return false;
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  wholeBytes_ = whole;
  return true;
}

bool TraceFile::cutToLastWhole() {
  if (fd_ < 0 || !stillOurs()) return false;
  while (ftruncate(fd_, wholeBytes_) != 0) {
    if (errno != EINTR) return false;
  }
  return lseek(fd_, wholeBytes_, SEEK_SET) == wholeBytes_;  // not where the failed one ended
}

void TraceFile::close() {
  if (fd_ >= 0 && stillOurs()) ::close(fd_);
  fd_ = -1;
}

namespace {
bool stderrKnown = false;
dev_t stderrDevice = 0;
ino_t stderrInode = 0;

bool stillStderr() {
  struct stat file {};
  return stderrKnown && fstat(STDERR_FILENO, &file) == 0 && file.st_dev == stderrDevice &&
         file.st_ino == stderrInode;
}
}  // namespace

void keepStderr() {
  struct stat file {};
  stderrKnown = fstat(STDERR_FILENO, &file) == 0;
  stderrDevice = file.st_dev;
  stderrInode = file.st_ino;
}

void writeToStderr(const char* text, size_t bytes) {
  if (!stillStderr()) return;
  ssize_t ignored = ::write(STDERR_FILENO, text, bytes);
  (void)ignored;
}

}  // namespace tidemark::preload
