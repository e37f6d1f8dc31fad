// Temporary files for tests, in one folder per test process.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace tidemark::test {

std::string tempPath(const std::string& name) {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("tidemark-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return (dir / name).string();
}

}  // namespace tidemark::test
