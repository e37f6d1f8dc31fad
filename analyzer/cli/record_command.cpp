// tidemark record: runs a command with libtidemark_preload.so and lists the traces.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "analysis.h"
#include "commands.h"
#include "leak_gate.h"
#include "record_report.h"
#include "signal_forwarding.h"
#include "trace_ending.h"
#include "untraced_program.h"

namespace tidemark::cli {
namespace {

namespace fs = std::filesystem;

// The tracer library next to this executable: build tree (bin/ and lib/) or install
// (bin/ and lib/ under one prefix). TIDEMARK_PRELOAD_LIB overrides.
std::string findTracerLibrary() {
  if (const char* path = getenv("TIDEMARK_PRELOAD_LIB")) return path;
  fs::path self = fs::read_symlink("/proc/self/exe").parent_path();
  for (const fs::path& candidate :
       {self / "../lib/libtidemark_preload.so", self / "libtidemark_preload.so",
        self / "../lib/tidemark/libtidemark_preload.so"}) {
    if (fs::exists(candidate)) return fs::canonical(candidate).string();
  }
  return {};
}

std::string manifestPath() {
  char path[] = "/tmp/tidemark-manifest-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return {};
  close(fd);
  return path;
}

// Whether this process may make the userfaultfd --guard-heap needs (one that also sees the
// kernel's own writes), as the traced program will try to.
bool userfaultfdAllowed() {
  int fd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC));
  if (fd < 0) return false;
  close(fd);
  return true;
}

}  // namespace

int runView(const std::vector<std::string>& args) {
  fs::path viewer = fs::read_symlink("/proc/self/exe").parent_path() / "tidemark-view";
  std::vector<char*> argv{const_cast<char*>("tidemark-view")};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(viewer.c_str(), argv.data());
  fprintf(stderr, "tidemark: cannot run %s: %s\n", viewer.c_str(), strerror(errno));
  return 1;
}

int runRecord(const RecordArgs& args) {
  std::string library = findTracerLibrary();
  if (library.empty()) {
    fprintf(stderr,
            "tidemark: cannot find libtidemark_preload.so next to this program; "
            "set TIDEMARK_PRELOAD_LIB\n");
    return 1;
  }
  std::string preload = library;
  if (const char* existing = getenv("LD_PRELOAD"); existing && *existing) {
    preload += ":" + std::string(existing);
  }
  // Absolute: every trace of the run lands here, also those of processes that changed
  // their directory first (a daemon's children), and the tracer can open its file again.
  std::string prefix = fs::absolute("tidemark").string(), outputFile;
  if (!args.output.empty()) {
    fs::path out = fs::absolute(args.output);
    // Replaced below: an old trace may be, a directory, a device or a pipe may not.
    std::error_code error;
    fs::file_status old = fs::symlink_status(out, error);
    if (fs::exists(old) && !fs::is_regular_file(old) && !fs::is_symlink(old)) {
      fprintf(stderr, "tidemark: -o %s: exists and is not a file, not replacing it\n",
              args.output.c_str());
      return 2;
    }
    prefix = (out.parent_path() / "tidemark").string();
    outputFile = out.string();
  }
  // The tracer cannot tell anyone it could not write its trace: find out before the run.
  fs::path traceDir = fs::absolute(prefix).parent_path();
  if (access(traceDir.c_str(), W_OK | X_OK) != 0) {
    fprintf(stderr, "tidemark: cannot write traces in %s: %s\n", traceDir.c_str(), strerror(errno));
    return 1;
  }
  if (!outputFile.empty()) {
    // The tracer links the first trace to this name as it starts (a viewer can follow it
    // with --follow): an old file of that name is replaced, as it would be at the end.
    std::error_code ignored;
    fs::remove(outputFile, ignored);
  }
  std::string manifest = manifestPath();
  if (manifest.empty()) {
    fprintf(stderr, "tidemark: cannot create a temporary file: %s\n", strerror(errno));
    return 1;
  }

  if (args.guardHeap && !userfaultfdAllowed()) {
    fprintf(stderr,
            "tidemark: --guard-heap: no userfaultfd for this user (%s; it needs root, "
            "CAP_SYS_PTRACE or vm.unprivileged_userfaultfd=1): snapshots copy the whole "
            "heap\n",
            strerror(errno));
  }
  SignalForwarding forwarding;
  pid_t self = getpid();
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "tidemark: fork: %s\n", strerror(errno));
    return 1;
  }
  if (child == 0) {
    forwarding.leaveToChild();
    // The program lives as long as the run: should record be killed (SIGKILL from
    // `timeout -k`, say), the program is sent SIGTERM, which finishes its trace.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != self) _exit(128 + SIGTERM);  // record died before that
    setenv("LD_PRELOAD", preload.c_str(), 1);
    setenv("TIDEMARK_OUTPUT", prefix.c_str(), 1);
    setenv("TIDEMARK_MANIFEST", manifest.c_str(), 1);
    if (!outputFile.empty()) setenv("TIDEMARK_OUTPUT_FILE", outputFile.c_str(), 1);
    setenv("TIDEMARK_FOLLOW_EXEC", args.followExec ? "1" : "0", 1);
    setenv("TIDEMARK_SNAPSHOT_AT_EXIT", args.snapshotAtExit ? "1" : "0", 1);
    if (!args.snapshots) setenv("TIDEMARK_SNAPSHOT_SIGNAL", "0", 1);
    if (!args.clearFreed) setenv("TIDEMARK_CLEAR_FREED", "0", 1);
    if (args.hugePages) {
      // Fewer page-table entries for the snapshot's copy-on-write child to copy.
      std::string tunables = "glibc.malloc.hugetlb=1";
      if (const char* existing = getenv("GLIBC_TUNABLES"); existing && *existing) {
        tunables = std::string(existing) + ":" + tunables;
      }
      setenv("GLIBC_TUNABLES", tunables.c_str(), 1);
    }
    if (args.guardHeap || args.copyHeap) {
      setenv("TIDEMARK_GUARD_HEAP", args.guardHeap ? "1" : "0", 1);
    }
    if (args.snapshotEveryMs) {
      setenv("TIDEMARK_SNAPSHOT_MS", std::to_string(args.snapshotEveryMs).c_str(), 1);
    }
    std::vector<char*> argv;
    for (const auto& a : args.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    fprintf(stderr, "tidemark: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  // The terminal's signals reach the child through the process group; we only wait.
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  forwarding.forwardTo(child);
  std::optional<RecordReport> report;
  if (args.report) report.emplace(manifest, args.output, 10);
  // Waits on the program's pidfd, which becomes readable when it ends; with --report the
  // trace is read every 20 ms meanwhile.
  int exited = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  int status = 0;
  for (;;) {
    pid_t ended = waitpid(child, &status, WNOHANG);
    if (ended == child || (ended < 0 && errno != EINTR)) break;
    if (report) report->poll();
    int due = forwarding.forwardDue();
    int timeoutMs = report && (due < 0 || due > 20) ? 20 : due;  // -1: until it ends
    if (exited < 0) timeoutMs = 20;                              // no pidfd (before Linux 5.3)
    timespec timeout{timeoutMs / 1000, (timeoutMs % 1000) * 1'000'000L};
    pollfd end{exited, POLLIN, 0};
    ppoll(&end, exited < 0 ? 0 : 1, timeoutMs < 0 ? nullptr : &timeout, forwarding.waitMask());
  }
  if (exited >= 0) close(exited);
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // the trace's clock: when the program ended
  uint64_t endedNs = static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + now.tv_nsec;
  int exitStatus = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (WIFSIGNALED(status)) {
    // record itself exits with 128+N, which a shell does not announce as a death.
    fprintf(stderr, "tidemark: %s was ended by %s (status %d)\n", args.command[0].c_str(),
            analysis::signalName(WTERMSIG(status)).c_str(), exitStatus);
  }
  // A program the tracer could not see end (SIGKILL, a raw exit_group): its trace says
  // how it ended all the same. A raw exit_group is what _exit does.
  endUnendedTrace(
      listedTraces(manifest), child,
      WIFSIGNALED(status) ? format::exitBySignal(WTERMSIG(status)) : format::ExitReason::FastExit,
      endedNs);
  // Before the trace is renamed below. A failing program's own status comes first.
  if (report) {
    auto result = report->finish();
    if (result && exitStatus == 0 && failsGate(*result, args.failOn)) exitStatus = 3;
  }

  bool first = true;
  for (std::string path : listedTraces(manifest)) {
    if (first && !args.output.empty()) {
      // Already linked under its name (the usual case): drop the second name; else rename.
      std::error_code error;
      if (fs::equivalent(path, args.output, error)) {
        fs::remove(path, error);
      } else {
        fs::rename(path, args.output, error);
      }
      if (!error) path = args.output;
    }
    first = false;
    fprintf(stderr, "tidemark: wrote %s\n", path.c_str());
  }
  if (first) {
    std::string why = whyUntraced(args.command[0]);
    fprintf(stderr, "tidemark: no trace was written%s%s\n", why.empty() ? "" : ": ", why.c_str());
  }
  unlink(manifest.c_str());
  return exitStatus;
}

}  // namespace tidemark::cli
