// tidemark analyze: the report of one trace, as text or JSON.
#include <cstdio>

#include "commands.h"
#include "load_analysis.h"
#include "report.h"

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
  auto result = loadAnalysis(args.trace);
  if (!result) return 1;
  if (args.json) {
    printf("%s\n", jsonReport(*result, args.top).dump(2).c_str());
  } else {
    printTextReport(*result, args.top ? args.top : 10, stdout);
  }
  return failsGate(*result, args.failOn) ? 3 : 0;
}

}  // namespace tidemark::cli
