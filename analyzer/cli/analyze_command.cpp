// tidemark analyze: the report of one trace, as text or JSON.
#include <unistd.h>

#include <cstdio>

#include "analyze_trace.h"
#include "commands.h"
#include "report.h"
#include "trace_reader.h"

namespace tidemark::cli {

namespace {

// The CI gate: true when the last complete snapshot holds lost blocks at least as bad as
// `failOn` (definite < indirect < possible in breadth).
bool failsGate(const analysis::Analysis& a, const std::string& failOn) {
  const analysis::SnapshotSummary* last = a.reportedSnapshot();
  if (failOn == "none" || !last) return false;
  auto blocks = [&](analysis::LeakKind kind) { return last->blocks[static_cast<int>(kind)]; };
  uint64_t found = blocks(analysis::LeakKind::Definite);
  if (failOn != "definite") found += blocks(analysis::LeakKind::Indirect);
  if (failOn == "possible") found += blocks(analysis::LeakKind::Possible);
  if (found)
    fprintf(stderr, "tidemark: --fail-on %s: %llu blocks lost\n", failOn.c_str(),
            static_cast<unsigned long long>(found));
  return found > 0;
}

}  // namespace

int runAnalyze(const AnalyzeArgs& args) {
  analysis::AnalyzeOptions options;
  bool showProgress = isatty(STDERR_FILENO);
  options.progress = [&](uint64_t done, uint64_t total) {
    if (showProgress && total > 0) fprintf(stderr, "\rreading %3d%%", int(100.0 * done / total));
  };
  analysis::Analysis result;
  try {
    result = analysis::analyzeTrace(args.trace, options);
  } catch (const format::TraceError& error) {
    fprintf(stderr, "%stidemark: %s\n", showProgress ? "\n" : "", error.what());
    return 1;
  }
  if (showProgress) fprintf(stderr, "\r             \r");
  for (const auto& warning : result.warnings)
    fprintf(stderr, "tidemark: warning: %s\n", warning.c_str());
  if (result.summary.truncated) {
    fprintf(stderr,
            "tidemark: warning: %s ends inside a chunk (the process was killed or is "
            "still running); analysed up to the last whole chunk\n",
            args.trace.c_str());
  }
  if (args.json) {
    printf("%s\n", jsonReport(result, args.top).dump(2).c_str());
  } else {
    printTextReport(result, args.top ? args.top : 10, stdout);
  }
  return failsGate(result, args.failOn) ? 3 : 0;
}

}  // namespace tidemark::cli
