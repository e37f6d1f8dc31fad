// The end of a trace whose process died without writing it: SIGKILL (the out-of-memory
// killer's signal), which the tracer cannot see, or a raw exit_group system call. `tidemark
// record` saw how the process ended (waitpid); it cuts the trace back to its last whole
// chunk and ends it with a trailer that says so (format 1.10: kTrailerWrittenAfterEnd).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace_format.h"

namespace tidemark::cli {

// Among `traces` (the manifest's, in the order they were created), the last one of
// process `pid`; when it has no trailer, ends it with one that says `reason`, at
// `endMonotonicNs` (CLOCK_MONOTONIC). Returns the path it ended, or "" when none needed
// it or it could not be (then the trace stays as it was, read up to its last whole chunk).
std::string endUnendedTrace(const std::vector<std::string>& traces, int32_t pid,
                            format::ExitReason reason, uint64_t endMonotonicNs);

}  // namespace tidemark::cli
