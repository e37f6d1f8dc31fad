// Temporary files for tests, in one folder per test process, removed when all of the
// process's tests passed (kept for a look when one failed).
#pragma once

#include <string>

namespace tidemark::test {

// A path under the test process's temporary folder (the folder exists; the path may not).
std::string tempPath(const std::string& name);

}  // namespace tidemark::test
