// Trace loading for the report commands (see load_analysis.h).
#include "load_analysis.h"

#include <unistd.h>

#include <cstdio>

#include "analyze_trace.h"
#include "trace_reader.h"

namespace tidemark::cli {

std::optional<analysis::Analysis> loadAnalysis(const std::string& path, size_t stacksOfSites) {
  analysis::AnalyzeOptions options;
  options.stacksOfSites = stacksOfSites;
  bool showProgress = isatty(STDERR_FILENO);
  options.progress = [&](uint64_t done, uint64_t total) {
    if (showProgress && total > 0) fprintf(stderr, "\rreading %3d%%", int(100.0 * done / total));
  };
  std::optional<analysis::Analysis> result;
  try {
    result = analysis::analyzeTrace(path, options);
  } catch (const format::TraceError& error) {
    fprintf(stderr, "%stidemark: %s\n", showProgress ? "\n" : "", error.what());
    return std::nullopt;
  }
  if (showProgress) fprintf(stderr, "\r             \r");
  reportProblems(*result);
  return result;
}

void reportProblems(const analysis::Analysis& result) {
  for (const auto& warning : result.warnings)
    fprintf(stderr, "tidemark: warning: %s\n", warning.c_str());
  if (!result.summary.tracingStopped.empty()) {
    fprintf(stderr,
            "tidemark: warning: %s ends where the tracer could not write it (%s); the program "
            "ran on untraced\n",
            result.path.c_str(), result.summary.tracingStopped.c_str());
  }
  if (!result.summary.corruption.empty()) {
    const auto& s = result.summary;
    fprintf(stderr,
            "tidemark: warning: %s: %s at byte %llu; analysed up to there, the %llu bytes "
            "after it are not read\n",
            result.path.c_str(), s.corruption.c_str(),
            static_cast<unsigned long long>(s.corruptAtByte),
            static_cast<unsigned long long>(s.fileBytes - s.corruptAtByte));
  }
  if (result.summary.truncated) {
    fprintf(stderr,
            "tidemark: warning: %s ends inside a chunk (the process was killed or is "
            "still running); analysed up to the last whole chunk\n",
            result.path.c_str());
  }
}

}  // namespace tidemark::cli
