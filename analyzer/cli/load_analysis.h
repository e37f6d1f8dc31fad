// Analyses a trace for a report command: progress on a terminal, warnings and errors on
// stderr in the words every command uses.
#pragma once

#include <optional>
#include <string>

#include "analysis.h"

namespace tidemark::cli {

// nullopt (after saying why) when the trace cannot be read. Call stacks for the first
// `stacksOfSites` sites only (AnalyzeOptions).
std::optional<analysis::Analysis> loadAnalysis(const std::string& path,
                                               size_t stacksOfSites = SIZE_MAX);
// Says on stderr what the analysis warns of, and when its trace was cut short.
void reportProblems(const analysis::Analysis& result);

}  // namespace tidemark::cli
