// tidemark snapshot PID: asks a traced process for a heap-graph snapshot, then reads its
// trace until the snapshot is there and prints its leak classes, or why it failed. The
// signal goes to the tracer's writer thread alone, so no thread of the program is
// interrupted.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "commands.h"
#include "report.h"
#include "snapshot_leaks.h"
#include "trace_reader.h"
#include "visitor_fan.h"

namespace tidemark::cli {
namespace {

namespace fs = std::filesystem;

std::string firstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// A variable of the environment the process was started with, or "".
std::string environmentOf(int pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::string entry;
  while (std::getline(in, entry, '\0')) {
    if (entry.rfind(name + "=", 0) == 0) return entry.substr(name.size() + 1);
  }
  return "";
}

// The snapshot signal the process was started with (TIDEMARK_SNAPSHOT_SIGNAL), or 40.
int snapshotSignalOf(int pid) {
  std::string signal = environmentOf(pid, "TIDEMARK_SNAPSHOT_SIGNAL");
  return signal.empty() ? 40 : std::atoi(signal.c_str());
}

// The trace the process writes: its open file named as the tracer names traces
// (PREFIX.PROGRAM.PID.tmk, or PREFIX.PROGRAM.PID.N.tmk after an exec), by the name
// `tidemark record -o` gave it when that is a second name of the same file.
std::string traceOf(int pid) {
  std::error_code error;
  std::string ownPid = "." + std::to_string(pid) + ".";
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    fs::path target = fs::read_symlink(fd.path(), error);
    if (error || target.extension() != ".tmk" ||
        target.filename().string().find(ownPid) == std::string::npos ||
        !fs::is_regular_file(target, error)) {
      continue;
    }
    std::string named = environmentOf(pid, "TIDEMARK_OUTPUT_FILE");
    return !named.empty() && fs::equivalent(named, target, error) ? named : target.string();
  }
  return "";
}

// Running, not a zombie waiting for its parent.
// The process's state in /proc (R, S, T, Z, ...); 0 when it is gone.
char stateOf(int pid) {
  std::string stat = firstLine("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');  // the name may hold spaces and parentheses
  return paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : 0;
}

bool alive(int pid) {
  char state = stateOf(pid);
  return state != 0 && state != 'Z' && state != 'X';
}

struct TrailerSeen : format::RecordVisitor {
  bool seen = false;
  void onTrailer(const format::Trailer&) override { seen = true; }
};

void printTaken(const std::string& trace, const analysis::SnapshotSummary& s, bool json) {
  if (json) {
    printf("%s\n", nlohmann::json{{"trace", trace}, {"snapshot", snapshotJson(s)}}.dump(2).c_str());
    return;
  }
  printf("snapshot %u of %s, at %.2f s: paused the program %.1f ms, scanned in %.1f ms\n", s.id + 1,
         trace.c_str(), s.timeS, s.pauseMs, s.scanMs);
  if (!s.complete) printf("  INCOMPLETE: %s\n", analysis::incompleteText(s).c_str());
  printLeakTotals(s, stdout);
}

void printFailed(const std::string& trace, const analysis::FailedSnapshot& f, bool json) {
  if (json) {
    printf("%s\n",
           nlohmann::json{{"trace", trace}, {"failed", failedSnapshotJson(f)}}.dump(2).c_str());
    return;
  }
  printf("snapshot %u of %s, at %.2f s, failed: %s\n", f.id + 1, trace.c_str(), f.timeS,
         f.reason.c_str());
}

// Reads what the trace gains until the snapshot asked for by signal ends or fails, and
// prints it. 0 when it was taken.
int awaitSnapshot(format::TraceReader& reader, int pid, int waitSeconds, bool json) {
  analysis::SnapshotLeaks snapshots;
  TrailerSeen trailer;
  analysis::VisitorFan fan({&snapshots, &trailer});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(waitSeconds);
  for (bool toldStopped = false;;) {
    bool ended = trailer.seen || !alive(pid);
    char state = stateOf(pid);
    if (!toldStopped && (state == 'T' || state == 't')) {
      fprintf(stderr,
              "tidemark: process %d is stopped (by a signal, or a debugger): its tracer takes "
              "the snapshot once it runs again\n",
              pid);
      toldStopped = true;
    }
    reader.readAvailable(fan);
    for (const auto& s : snapshots.snapshots()) {
      if (s.trigger != "signal") continue;
      printTaken(reader.path(), s, json);
      return 0;
    }
    for (const auto& f : snapshots.failed(false)) {
      if (f.trigger != "signal") continue;
      printFailed(reader.path(), f, json);
      return 1;
    }
    if (ended) {  // read once more after it ended: all it wrote is in
      fprintf(stderr, "tidemark: process %d ended before its snapshot was in %s\n", pid,
              reader.path().c_str());
      return 1;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      fprintf(stderr, "tidemark: no snapshot in %s after %d s (--wait)\n", reader.path().c_str(),
              waitSeconds);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// The tracer's writer thread in process `pid`, or 0.
int writerOf(int pid) {
  std::error_code error;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    if (firstLine(task.path() / "comm") == "tidemark-writer")
      return std::stoi(task.path().filename().string());
  }
  return 0;
}

}  // namespace

int runSnapshot(const SnapshotArgs& original) {
  SnapshotArgs args = original;
  std::error_code error;
  if (!fs::exists("/proc/" + std::to_string(args.pid) + "/task", error)) {
    fprintf(stderr, "tidemark: no process %d\n", args.pid);
    return 1;
  }
  int writer = writerOf(args.pid);
  // The pid at hand is often `tidemark record`'s: its program is its one traced child.
  std::istringstream children(firstLine("/proc/" + std::to_string(args.pid) + "/task/" +
                                        std::to_string(args.pid) + "/children"));
  for (int child; !writer && children >> child;) {
    if ((writer = writerOf(child)) != 0) {
      fprintf(stderr, "tidemark: asking %d's traced child, process %d\n", args.pid, child);
      args.pid = child;
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
  // What the trace holds so far is passed over: the snapshot comes after it.
  std::unique_ptr<format::TraceReader> reader;
  if (args.waitSeconds > 0) {
    std::string trace = traceOf(args.pid);
    try {
      if (!trace.empty()) reader = std::make_unique<format::TraceReader>(trace);
    } catch (const format::TraceError& e) {
      fprintf(stderr, "tidemark: %s\n", e.what());
    }
    if (reader) {
      reader->skipAvailable();
    } else {
      fprintf(stderr, "tidemark: cannot read the trace of process %d: not waiting for it\n",
              args.pid);
    }
  }
  if (syscall(SYS_tgkill, args.pid, writer, signal) != 0) {
    fprintf(stderr, "tidemark: cannot signal process %d: %s\n", args.pid, strerror(errno));
    return 1;
  }
  fprintf(stderr, "tidemark: asked process %d for a snapshot\n", args.pid);
  return reader ? awaitSnapshot(*reader, args.pid, args.waitSeconds, args.json) : 0;
}

}  // namespace tidemark::cli
