// Temporary files for tests (see temp_path.h). Without the clean-up, the end-to-end
// tests' traces of big heaps filled /tmp run after run (36 GB on one machine).
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include "temp_path.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

namespace tidemark::test {
namespace {

namespace fs = std::filesystem;

fs::path processDir() {
  return fs::temp_directory_path() / ("tidemark-test-" + std::to_string(getpid()));
}

class RemoveTempDirWhenPassed : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;
  void testRunEnded(const Catch::TestRunStats& stats) override {
    if (stats.totals.assertions.failed != 0) return;
    std::error_code ignored;
    fs::remove_all(processDir(), ignored);
  }
};
CATCH_REGISTER_LISTENER(RemoveTempDirWhenPassed)

}  // namespace

std::string tempPath(const std::string& name) {
  static const fs::path dir = [] {
    fs::create_directories(processDir());
    return processDir();
  }();
  return (dir / name).string();
}

}  // namespace tidemark::test
