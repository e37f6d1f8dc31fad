// Reads a trace and computes its Analysis: the analysis library's entry point. The trace
// may still be growing: TraceAnalyzer reads what is there and can be asked again.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "analysis.h"

namespace tidemark::analysis {

struct AnalyzeOptions {
  bool symbolize = true;
  // Call stacks for only the first N sites in report order (a report's --top): the
  // others' frames stay empty. Leak groups always have theirs.
  size_t stacksOfSites = SIZE_MAX;
  // Called now and then with the bytes read so far and the file size.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

class TraceAnalyzer {
 public:
  // Throws format::TraceError when the file is not a trace (or has no header yet).
  TraceAnalyzer(const std::string& path, AnalyzeOptions options = {});
  ~TraceAnalyzer();

  // Reads every whole chunk written since the last call; the number read. Throws
  // format::TraceError when the first chunk cannot be read; corruption further on ends
  // the reading, and the result is of what came before (summary.corruption says where).
  uint64_t readMore();
  // The analysis of everything read so far (symbolized as options say). `atEnd`: nothing
  // more will be read, so a snapshot still open has failed.
  Analysis result(bool atEnd = false);
  // The trace has its trailer: nothing more will be written.
  bool finished() const;
  // A chunk could not be read: nothing more will be read.
  bool corrupt() const;
  // The traced process (0 until the trace's process record was read).
  int32_t pid() const;
  // The trace ended because the process ran another program, which has a trace of its own.
  bool endedByExec() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The whole trace at once. A trace cut short is analysed up to its last whole chunk and
// marked truncated; one damaged further on, up to the damage (summary.corruption).
Analysis analyzeTrace(const std::string& path, const AnalyzeOptions& options = {});

}  // namespace tidemark::analysis
