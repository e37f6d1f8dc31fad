// Reads a trace and computes its Analysis: the analysis library's entry point.
#pragma once

#include <functional>
#include <string>

#include "analysis.h"

namespace tidemark::analysis {

struct AnalyzeOptions {
  bool symbolize = true;
  // Called now and then with the bytes read so far and the file size.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Throws format::TraceError for a file that is not a readable trace. A trace cut short
// is analysed up to its last whole chunk and marked truncated.
Analysis analyzeTrace(const std::string& path, const AnalyzeOptions& options = {});

}  // namespace tidemark::analysis
