// `tidemark record --report`: reads the first traced process's trace while the program
// runs, so that its report is printed moments after the program ends (where valgrind
// prints its own leak summary), not after a second command has read it all again. When
// the process runs another program (a wrapper script exec'ing the real one), the report
// follows it to that program's trace.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analyze_trace.h"

namespace tidemark::cli {

// The traces the tracer listed in `manifest` as it created them, in that order.
std::vector<std::string> listedTraces(const std::string& manifest);

class RecordReport {
 public:
  // `manifest`: the file where the tracer lists each trace it creates; `output`: the name
  // the first trace will have when the run is over (-o), empty for its own.
  RecordReport(std::string manifest, std::string output, size_t top);
  ~RecordReport();

  // Reads what was written since the last call (opens the trace once it is there).
  void poll();
  // After the program ended: reads the rest and prints the text report on stderr
  // (stdout stays the program's); returns it, nullopt when there was no trace to report on.
  std::optional<analysis::Analysis> finish();

 private:
  // Moves to the trace of the program the current one exec'd, once it is listed and has
  // begun; false when it is not there yet.
  bool followExec(const std::vector<std::string>& traces);
  // A trace analyzer that keeps the call stacks of only the sites the report shows.
  std::unique_ptr<analysis::TraceAnalyzer> openTrace(const std::string& path) const;

  std::string manifest_, output_;
  size_t top_;
  size_t current_ = 0;              // the manifest line of the trace reported on
  std::vector<bool> otherProcess_;  // manifest lines known to be other processes' traces
  std::unique_ptr<analysis::TraceAnalyzer> analyzer_;
  bool failed_ = false;  // the trace could not be read; said so once
};

}  // namespace tidemark::cli
