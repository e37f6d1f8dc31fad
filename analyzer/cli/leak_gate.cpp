// The --fail-on gate (see leak_gate.h).
#include "leak_gate.h"

#include <cstdio>
#include <string>

namespace tidemark::cli {

bool failsGate(const analysis::Analysis& a, const std::string& failOn) {
  if (failOn == "none") return false;
  const analysis::SnapshotSummary* last = a.reportedSnapshot();
  // A gate passed for want of evidence would hide the leak whose scan was killed (by the
  // out-of-memory killer, say): a snapshot that failed after the last complete one fails it.
  if (!a.failedSnapshots.empty()) {
    const auto& failed = a.failedSnapshots.back();
    if (!last || failed.timeS >= last->timeS) {
      fprintf(stderr, "tidemark: --fail-on %s: snapshot %u (%s, at %.2f s) failed: %s\n",
              failOn.c_str(), failed.id + 1, failed.trigger.c_str(), failed.timeS,
              failed.reason.c_str());
      return true;
    }
  }
  uint64_t found = 0;
  if (last) {
    auto blocks = [&](analysis::LeakKind kind) { return last->blocks[static_cast<int>(kind)]; };
    found = blocks(analysis::LeakKind::Definite);
    if (failOn != "definite") found += blocks(analysis::LeakKind::Indirect);
    if (failOn == "possible") found += blocks(analysis::LeakKind::Possible);
  }
  if (found) {
    // What an incomplete snapshot could not see can only make more blocks look lost.
    std::string incomplete = last->complete
                                 ? ""
                                 : " (snapshot " + std::to_string(last->id + 1) +
                                       " is incomplete: " + analysis::incompleteText(*last) +
                                       "; some of them may be held by what it could not see)";
    fprintf(stderr, "tidemark: --fail-on %s: %llu blocks lost%s\n", failOn.c_str(),
            static_cast<unsigned long long>(found), incomplete.c_str());
    return true;
  }
  // Nor a trace read only up to damage in it: what came after was not seen.
  if (!a.summary.corruption.empty()) {
    fprintf(stderr,
            "tidemark: --fail-on %s: the trace is unreadable from byte %llu (%s); what came "
            "after was not judged\n",
            failOn.c_str(), static_cast<unsigned long long>(a.summary.corruptAtByte),
            a.summary.corruption.c_str());
    return true;
  }
  // Nor may a disk that filled up pass it: the program's end, and its exit snapshot, are
  // not in the trace.
  if (!a.summary.tracingStopped.empty()) {
    fprintf(stderr,
            "tidemark: --fail-on %s: tracing stopped at %.2f s, before the program ended (the "
            "trace could not be written: %s); what came after was not judged\n",
            failOn.c_str(), a.summary.durationS, a.summary.tracingStopped.c_str());
    return true;
  }
  return false;
}

}  // namespace tidemark::cli
