// The --fail-on gate (see leak_gate.h).
#include "leak_gate.h"

#include <cstdio>

namespace tidemark::cli {

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

}  // namespace tidemark::cli
