// The tidemark subcommands. Each returns the process exit status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tidemark::cli {

struct RecordArgs {
  std::string output;  // empty: the tracer's default names
  bool followExec = true;
  bool snapshotAtExit = true;
  bool snapshots = true;         // false: no live-block table, no snapshot of any kind
  uint64_t snapshotEveryMs = 0;  // 0: no periodic snapshots
  bool hugePages = false;        // glibc malloc's heaps on transparent huge pages
  bool clearFreed = true;        // the tracer zeroes freed blocks (stale pointers)
  bool guardHeap = false;        // every snapshot guards big mappings instead of copying them
  bool copyHeap = false;         // ... none does (the default: those of a big heap)
  bool report = false;           // print the first trace's report when the program ends
  std::string failOn = "none";   // with report: status 3 for such leaks (analyze --fail-on)
  std::vector<std::string> command;
};
// Runs the command under the tracer and passes its exit status through (128+N for a
// death by signal N, as a shell reports it); 3 when the program exited 0 but --fail-on
// found leaks.
int runRecord(const RecordArgs& args);

// "500ms", "10s", "5m", "1h" (a bare number is seconds) → seconds; nullopt when invalid.
std::optional<double> parseSeconds(const std::string& text);
// The same → whole milliseconds; 0 when invalid or shorter than 1 ms.
uint64_t parseDurationMs(const std::string& text);

struct AnalyzeArgs {
  std::string trace;
  bool json = false;
  size_t top = 0;               // 0: the format's default (10 in text, every site in JSON)
  std::string failOn = "none";  // none, definite, indirect or possible
};
// 0 on success, 1 when the trace cannot be read, 3 when --fail-on found such leaks.
int runAnalyze(const AnalyzeArgs& args);

struct CompareArgs {
  std::string trace;
  std::string from, to;  // durations since the start; `to` empty: the end of the trace
  bool json = false;
  size_t top = 0;  // 0: 10 in text, every changed site in JSON
};
// What changed on the heap between two times, per site. 0, or 1 when unreadable, 2 for
// a bad time.
int runCompare(const CompareArgs& args);

struct SnapshotArgs {
  int pid = 0;
  int signal = 0;        // 0: the one the process was started with
  int waitSeconds = 60;  // 0: only ask
  bool json = false;     // the snapshot in the schema of analyze --json's snapshots[]
};
// Asks a traced process for a snapshot and waits for it in the trace (prints its leak
// classes). 0 when it was taken (or, not waiting, asked for).
int runSnapshot(const SnapshotArgs& args);

// Replaces this process with tidemark-view (found beside this program) and `args`.
int runView(const std::vector<std::string>& args);

}  // namespace tidemark::cli
