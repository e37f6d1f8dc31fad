// The trace file, kept out of the program's way. A daemon closes every descriptor it did
// not open (close_range(3, ~0), or a loop up to its limit) and opens its own files, which
// then get the lowest numbers: the trace's number among them. Then tracing stopped at its
// next write (EBADF), or, had the program opened a file of its own under that number
// first, the trace's chunks would have gone into the program's file. So the descriptor
// sits high (from 1000, or near a lower limit), each write first checks that it is still
// the trace file (device and inode), and a closed or replaced one is opened again by its
// path, appending: the trace goes on.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "../format/chunk_encoder.h"

namespace tidemark::preload {

class TraceFile final : public format::ByteSink {
 public:
  // Takes `fd`, just opened at `path`, moving it to a high number. False on an error.
  bool adopt(int fd, const char* path);
  bool write(const void* data, size_t bytes) override;
  // Closes it if it is still the trace file (the number may be the program's now).
  void close();
  bool isOpen() const { return fd_ >= 0; }
  int error() const { return error_; }  // errno of the write that failed
  // After a write failed: cuts the file back to where the last whole write ended (a chunk
  // is one write), which makes room for a last small chunk on a full disk. False when the
  // file is no longer the trace's or cannot be cut.
  bool cutToLastWhole();

 private:
  bool stillOurs() const;
  bool reopen();

  int fd_ = -1;
  int error_ = 0;
  off_t wholeBytes_ = 0;  // the file's size after the last write that went through whole
  dev_t device_ = 0;
  ino_t inode_ = 0;
  char path_[4096] = {};
};

// The tracer's few messages (a trace it cannot write) go to descriptor 2 only while it is
// the stderr the program started with (device and inode, noted by keepStderr() at start):
// a daemon may have closed it and given the number to a file of its own, which a message
// must never land in. Not kept open under another number either: a daemon that closes its
// stderr lets the pipe behind it end (a shell's $(...) or ssh waits for that).
void keepStderr();
void writeToStderr(const char* text, size_t bytes);

}  // namespace tidemark::preload
