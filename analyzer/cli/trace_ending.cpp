// Ending a trace for a process that could not (see trace_ending.h).
#include "trace_ending.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "chunk_encoder.h"
#include "trace_reader.h"

namespace tidemark::cli {
namespace {

struct FirstChunk : format::RecordVisitor {
  format::ProcessInfo info;
  bool seen = false;
  void onProcessInfo(const format::ProcessInfo& i) override {
    info = i;
    seen = true;
  }
};

// Whether the last chunk's records end the trace: a trailer, not followed by more (after
// a trailer that says exec, more records mean the exec failed and the program went on).
struct LastChunk : format::RecordVisitor {
  bool ended = false;
  void onTrailer(const format::Trailer&) override { ended = true; }
  void onExecFailed(uint64_t) override { ended = false; }
};

class FileSink final : public format::ByteSink {
 public:
  explicit FileSink(int fd) : fd_(fd) {}
  bool write(const void* data, size_t bytes) override {
    auto* p = static_cast<const char*>(data);
    while (bytes > 0) {
      ssize_t n = ::write(fd_, p, bytes);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      bytes -= static_cast<size_t>(n);
    }
    return true;
  }

 private:
  int fd_;
};

bool appendTrailer(const std::string& path, uint64_t wholeBytes, uint64_t chunks,
                   const format::TrailerRecord& trailer) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  // The part of a chunk the tracer did not finish goes: the new chunk follows the last
  // whole one.
  bool ok = ftruncate(fd, static_cast<off_t>(wholeBytes)) == 0 &&
            lseek(fd, static_cast<off_t>(wholeBytes), SEEK_SET) == static_cast<off_t>(wholeBytes);
  FileSink sink(fd);
  format::ChunkEncoder encoder;
  ok = ok && encoder.openToAppend(&sink, static_cast<uint32_t>(chunks)) &&
       encoder.appendRecord(&trailer, sizeof trailer) && encoder.flush();
  if (!ok) ftruncate(fd, static_cast<off_t>(wholeBytes));  // nothing half-written stays
  ::close(fd);
  return ok;
}

}  // namespace

std::string endUnendedTrace(const std::vector<std::string>& traces, int32_t pid,
                            format::ExitReason reason, uint64_t endMonotonicNs) {
  for (auto path = traces.rbegin(); path != traces.rend(); ++path) {
    FirstChunk first;
    try {
      format::TraceReader(*path).readAvailable(first, 1);
    } catch (const format::TraceError&) {
      continue;  // not this process's, or unreadable: analyze names what is wrong with it
    }
    if (!first.seen || first.info.pid != pid) continue;  // a forked child's
    try {
      format::TraceReader whole(*path);
      uint64_t chunks = whole.skipAvailable();
      format::TraceReader last(*path);
      last.skipAvailable(chunks - 1);
      LastChunk ending;
      last.readAvailable(ending, 1);
      if (ending.ended) return "";
      format::TrailerRecord trailer{};
      trailer.header = {format::RecordKind::Trailer, 0, sizeof trailer};
      trailer.timeUs = endMonotonicNs > first.info.startMonotonicNs
                           ? (endMonotonicNs - first.info.startMonotonicNs) / 1000
                           : 0;
      trailer.events = format::kTrailerWrittenAfterEnd;
      trailer.exitReason = static_cast<uint32_t>(reason);
      return appendTrailer(*path, whole.bytesRead(), chunks, trailer) ? *path : "";
    } catch (const format::TraceError&) {
      return "";  // corrupt: left as it is, for analyze to name
    }
  }
  return "";
}

}  // namespace tidemark::cli
