// tidemark snapshot PID: asks a traced process for a heap-graph snapshot. The signal goes
// to the tracer's writer thread alone, so no thread of the program is interrupted.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "commands.h"

namespace tidemark::cli {
namespace {

namespace fs = std::filesystem;

std::string firstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The snapshot signal the process was started with (TIDEMARK_SNAPSHOT_SIGNAL), or 40.
int snapshotSignalOf(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::string entry;
  while (std::getline(in, entry, '\0')) {
    const std::string key = "TIDEMARK_SNAPSHOT_SIGNAL=";
    if (entry.rfind(key, 0) == 0) return std::atoi(entry.c_str() + key.size());
  }
  return 40;
}

}  // namespace

int runSnapshot(const SnapshotArgs& args) {
  fs::path tasks = "/proc/" + std::to_string(args.pid) + "/task";
  std::error_code error;
  if (!fs::exists(tasks, error)) {
    fprintf(stderr, "tidemark: no process %d\n", args.pid);
    return 1;
  }
  int writer = 0;
  for (const auto& task : fs::directory_iterator(tasks, error)) {
    if (firstLine(task.path() / "comm") == "tidemark-writer") {
      writer = std::stoi(task.path().filename().string());
    }
  }
  if (!writer) {
    fprintf(stderr, "tidemark: process %d is not traced by tidemark (no tidemark-writer thread)\n",
            args.pid);
    return 1;
  }
  int signal = args.signal ? args.signal : snapshotSignalOf(args.pid);
  if (signal <= 0) {
    fprintf(stderr, "tidemark: process %d was started without a snapshot signal\n", args.pid);
    return 1;
  }
  if (syscall(SYS_tgkill, args.pid, writer, signal) != 0) {
    fprintf(stderr, "tidemark: cannot signal process %d: %s\n", args.pid, strerror(errno));
    return 1;
  }
  fprintf(stderr, "tidemark: asked process %d for a snapshot\n", args.pid);
  return 0;
}

}  // namespace tidemark::cli
