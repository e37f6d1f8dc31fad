// Runs real processes for the end-to-end tests: the tidemark CLI, the samples and the
// test programs, each bounded in time; and reads traces through `tidemark analyze --json`.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace tidemark::e2e {

// Paths of the built programs (from the build tree).
std::string tool(const std::string& name);  // bin/<name>
std::string sourcePath(const std::string& relative);

// A fresh, empty directory for one test.
std::string freshDir(const std::string& name);

// `tidemark record -o TRACE --guard-heap|--copy-heap -- COMMAND...`: for tests that take
// their snapshots both ways, copied and guarded.
std::vector<std::string> recordArgv(const std::string& trace, bool guarded,
                                    const std::vector<std::string>& command);

struct RunResult {
  int status = -1;     // exit code, or 128+signal
  std::string output;  // stdout and stderr together
};

// Runs argv to completion; fails the test when it takes longer than timeoutSeconds.
RunResult run(const std::vector<std::string>& argv, int timeoutSeconds = 120);

class Background {
 public:
  // Starts argv with stdout and stderr going to `logFile`.
  Background(const std::vector<std::string>& argv, const std::string& logFile);
  ~Background();  // kills the process if it still runs
  pid_t pid() const { return pid_; }
  // Waits for the exit status (128+signal); fails the test after timeoutSeconds.
  int wait(int timeoutSeconds = 120);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// `tidemark analyze --json FILE` parsed; fails the test on a non-zero exit.
nlohmann::json analyze(const std::string& trace);

// The sites whose innermost frame's function contains `function`, summed.
struct Leak {
  uint64_t bytes = 0;
  uint64_t blocks = 0;
  uint64_t sites = 0;
};
Leak leakedAt(const nlohmann::json& report, const std::string& function);

// True when some frame of some site with innermost `function` contains `caller`.
bool stackContains(const nlohmann::json& report, const std::string& function,
                   const std::string& caller);

struct Totals {
  uint64_t bytes = 0, blocks = 0;
  bool operator==(const Totals&) const = default;
};
// How a failed check prints them.
inline std::ostream& operator<<(std::ostream& out, const Totals& t) {
  return out << t.bytes << " bytes in " << t.blocks << " blocks";
}

// The last snapshot's totals of `kind` ("definite", "indirect", ...).
Totals snapshotTotals(const nlohmann::json& report, const char* kind);

// Sums the leak groups of `kind` whose innermost function contains `function`.
Totals groupTotals(const nlohmann::json& report, const char* kind, const std::string& function);

// Whether some lost group (definite, indirect or possible) has `function` in its stack.
bool lostThrough(const nlohmann::json& report, const std::string& function);

// The .tmk files in dir, sorted by name.
std::vector<std::string> tracesIn(const std::string& dir);

// The children of `pid` (from /proc).
std::vector<pid_t> childrenOf(pid_t pid);
// A process of a snapshot the traced `program` is taking, by name: its scanning child
// "tidemark-scan" or its helper "tidemark-stop" (children of the tracer's writer
// thread); waits for it up to timeoutSeconds and returns 0 when there is none by then.
pid_t snapshotProcess(pid_t program, const std::string& name, int timeoutSeconds = 30);

std::string readFile(const std::string& path);

// Flips a bit in the compressed data of chunk `index` of a trace, as a bad disk would;
// returns the chunk's offset in the file. Fails the test when the trace has no such chunk.
uint64_t damageChunk(const std::string& trace, size_t index);
// Waits until `path` contains `text`, or fails the test after timeoutSeconds.
void waitForText(const std::string& path, const std::string& text, int timeoutSeconds = 30);

}  // namespace tidemark::e2e
