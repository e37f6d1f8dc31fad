// The CI gate of --fail-on: whether the last complete snapshot holds lost blocks of a
// kind or worse, or a snapshot after it failed, or tracing stopped before the program's
// end (its trace could not be written).
#pragma once

#include <string>

#include "analysis.h"

namespace tidemark::cli {

// `failOn`: none, definite, indirect (definite or indirect) or possible (any lost). Says
// on stderr how many blocks failed it, or which snapshot.
bool failsGate(const analysis::Analysis& analysis, const std::string& failOn);

}  // namespace tidemark::cli
