// Process running and trace reading for the end-to-end tests (see harness.h).
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "temp_path.h"
#include "trace_format.h"

namespace tidemark::e2e {
namespace fs = std::filesystem;

std::string tool(const std::string& name) { return std::string(TIDEMARK_BIN_DIR) + "/" + name; }
std::string sourcePath(const std::string& relative) {
  return std::string(TIDEMARK_SOURCE_DIR) + "/" + relative;
}

std::string freshDir(const std::string& name) {
  fs::path dir = test::tempPath(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::vector<std::string> recordArgv(const std::string& trace, bool guarded,
                                    const std::vector<std::string>& command) {
  std::vector<std::string> argv{tool("tidemark"), "record", "-o", trace};
  argv.push_back(guarded ? "--guard-heap" : "--copy-heap");
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

namespace {

pid_t spawn(const std::vector<std::string>& argv, int outFd) {
  pid_t pid = fork();
  if (pid == 0) {
    dup2(outFd, STDOUT_FILENO);
    dup2(outFd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    setpgid(0, 0);  // a group of its own, so a kill reaches everything it started
    // Run from a non-interactive shell's `&`, the tests start with SIGINT and SIGQUIT
    // ignored, and an ignored signal stays ignored across exec; some tests send SIGINT.
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int waitBounded(pid_t pid, int timeoutSeconds, bool* timedOut) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      *timedOut = true;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  *timedOut = false;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

uint64_t damageChunk(const std::string& trace, size_t index) {
  std::string bytes = readFile(trace);
  tidemark::format::FileHeader header;
  REQUIRE(bytes.size() >= sizeof header);
  memcpy(&header, bytes.data(), sizeof header);
  uint64_t at = header.headerBytes;
  tidemark::format::ChunkHeader chunk;
  for (size_t i = 0;; ++i) {
    REQUIRE(at + sizeof chunk <= bytes.size());
    memcpy(&chunk, bytes.data() + at, sizeof chunk);
    if (i == index) break;
    at += sizeof chunk + chunk.compressedBytes;
  }
  bytes[at + sizeof chunk + chunk.compressedBytes / 2] ^= 0x10;
  std::ofstream(trace, std::ios::binary | std::ios::trunc) << bytes;
  return at;
}

RunResult run(const std::vector<std::string>& argv, int timeoutSeconds) {
  char path[] = "/tmp/tidemark-e2e-out-XXXXXX";
  int fd = mkstemp(path);
  pid_t pid = spawn(argv, fd);
  close(fd);
  bool timedOut = false;
  RunResult result;
  result.status = waitBounded(pid, timeoutSeconds, &timedOut);
  result.output = readFile(path);
  unlink(path);
  INFO("command: " << argv[0] << " ... output:\n" << result.output);
  REQUIRE_FALSE(timedOut);
  return result;
}

Background::Background(const std::vector<std::string>& argv, const std::string& logFile) {
  int fd = open(logFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_ = spawn(argv, fd);
  close(fd);
}

Background::~Background() {
  if (!reaped_ && pid_ > 0) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

int Background::wait(int timeoutSeconds) {
  bool timedOut = false;
  int status = waitBounded(pid_, timeoutSeconds, &timedOut);
  reaped_ = true;
  REQUIRE_FALSE(timedOut);
  return status;
}

nlohmann::json analyze(const std::string& trace) {
  RunResult r = run({tool("tidemark"), "analyze", "--json", trace});
  INFO("tidemark analyze " << trace << ":\n" << r.output.substr(0, 2000));
  REQUIRE(r.status == 0);
  // stderr may carry warnings before the JSON document.
  size_t start = r.output.find("{\n");
  REQUIRE(start != std::string::npos);
  return nlohmann::json::parse(r.output.substr(start));
}

Totals snapshotTotals(const nlohmann::json& report, const char* kind) {
  const auto& last = report["snapshots"].back();
  return {last["bytes"][kind].get<uint64_t>(), last["blocks"][kind].get<uint64_t>()};
}

Totals groupTotals(const nlohmann::json& report, const char* kind, const std::string& function) {
  Totals t;
  for (const auto& g : report["leaks"]) {
    if (g["kind"] != kind || g["stack"].empty()) continue;
    if (g["stack"][0]["function"].get<std::string>().find(function) == std::string::npos) continue;
    t.bytes += g["bytes"].get<uint64_t>();
    t.blocks += g["blocks"].get<uint64_t>();
  }
  return t;
}

bool lostThrough(const nlohmann::json& report, const std::string& function) {
  for (const auto& group : report["leaks"]) {
    for (const auto& frame : group["stack"]) {
      if (frame["function"] == function) return true;
    }
  }
  return false;
}

Leak leakedAt(const nlohmann::json& report, const std::string& function) {
  Leak leak;
  for (const auto& site : report["sites"]) {
    if (site["stack"].empty()) continue;
    std::string inner = site["stack"][0]["function"];
    if (inner.find(function) == std::string::npos) continue;
    leak.bytes += site["leaked_bytes"].get<uint64_t>();
    leak.blocks += site["leaked_blocks"].get<uint64_t>();
    ++leak.sites;
  }
  return leak;
}

bool stackContains(const nlohmann::json& report, const std::string& function,
                   const std::string& caller) {
  for (const auto& site : report["sites"]) {
    if (site["stack"].empty()) continue;
    std::string inner = site["stack"][0]["function"];
    if (inner.find(function) == std::string::npos) continue;
    for (const auto& frame : site["stack"]) {
      if (frame["function"].get<std::string>().find(caller) != std::string::npos) return true;
    }
  }
  return false;
}

std::vector<std::string> tracesIn(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".tmk") out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<pid_t> childrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::string path = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children";
  std::istringstream in(readFile(path));
  pid_t child;
  while (in >> child) out.push_back(child);
  return out;
}

pid_t snapshotProcess(pid_t program, const std::string& name, int timeoutSeconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code error;
    for (const auto& task :
         fs::directory_iterator("/proc/" + std::to_string(program) + "/task", error)) {
      std::istringstream in(readFile(task.path().string() + "/children"));
      for (pid_t child; in >> child;) {
        if (readFile("/proc/" + std::to_string(child) + "/comm") == name + "\n") {
          return child;
        }
      }
    }
  }
  return 0;
}

void waitForText(const std::string& path, const std::string& text, int timeoutSeconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  while (readFile(path).find(text) == std::string::npos) {
    INFO("waiting for '" << text << "' in " << path);
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace tidemark::e2e
