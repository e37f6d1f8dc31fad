// Formatting of an Analysis for people (text) and programs (JSON, docs/json.md).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>

#include "analysis.h"
#include "comparison.h"

namespace tidemark::cli {

void printTextReport(const analysis::Analysis& analysis, size_t top, std::FILE* out);

// A snapshot's bytes and blocks per leak class, memcheck's words and layout.
void printLeakTotals(const analysis::SnapshotSummary& snapshot, std::FILE* out);

// The stable JSON schema of docs/json.md. `top` 0 lists every site.
nlohmann::json jsonReport(const analysis::Analysis& analysis, size_t top);
// One entry of its `snapshots` and of its `snapshots_failed`.
nlohmann::json snapshotJson(const analysis::SnapshotSummary& snapshot);
nlohmann::json failedSnapshotJson(const analysis::FailedSnapshot& failed);

void printTextComparison(const analysis::Analysis& analysis, const analysis::Comparison& comparison,
                         size_t top, std::FILE* out);
nlohmann::json jsonComparison(const analysis::Comparison& comparison, size_t top);

}  // namespace tidemark::cli
