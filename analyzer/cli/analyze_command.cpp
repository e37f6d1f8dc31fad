// tidemark analyze: the report of one trace, as text or JSON.
#include <cstdio>

#include "commands.h"
#include "leak_gate.h"
#include "load_analysis.h"
#include "report.h"

namespace tidemark::cli {

int runAnalyze(const AnalyzeArgs& args) {
  // --top: 10 in text, all in JSON when not given (jsonReport reads 0 as all).
  size_t shown = args.top ? args.top : (args.json ? SIZE_MAX : 10);
  auto result = loadAnalysis(args.trace, shown);
  if (!result) return 1;
  if (args.json) {
    printf("%s\n", jsonReport(*result, args.top).dump(2).c_str());
  } else {
    printTextReport(*result, shown, stdout);
  }
  return failsGate(*result, args.failOn) ? 3 : 0;
}

}  // namespace tidemark::cli
