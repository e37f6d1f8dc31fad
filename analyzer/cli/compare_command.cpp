// tidemark compare: what changed on the heap between two times of a run.
#include <cstdio>

#include "commands.h"
#include "comparison.h"
#include "load_analysis.h"
#include "report.h"

namespace tidemark::cli {

int runCompare(const CompareArgs& args) {
  auto from = parseSeconds(args.from);
  auto to = args.to.empty() ? std::optional<double>(1e300) : parseSeconds(args.to);
  if (!from || !to) {
    fprintf(stderr, "tidemark compare: '%s' is not a time like 0, 500ms, 10s, 5m\n",
            (!from ? args.from : args.to).c_str());
    return 2;
  }
  auto analysis = loadAnalysis(args.trace);
  if (!analysis) return 1;
  analysis::Comparison comparison = analysis::compareTimes(*analysis, *from, *to);
  if (args.json) {
    printf("%s\n", jsonComparison(comparison, args.top).dump(2).c_str());
  } else {
    printTextComparison(*analysis, comparison, args.top ? args.top : 10, stdout);
  }
  return 0;
}

}  // namespace tidemark::cli
