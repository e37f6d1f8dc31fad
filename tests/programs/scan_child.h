// For test programs that act while a snapshot's scan runs: whether the scanning child
// exists (the tracer's helper creates it while the program is stopped, and it names
// itself at once), and a bounded wait for a condition.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

// The scanning child's pid, or 0 when none runs.
inline pid_t scanningChild() {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream children(task.path() / "children");
    for (int pid; children >> pid;) {
      std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
      std::string name;
      std::getline(comm, name);
      if (name == "tidemark-scan") return pid;
    }
  }
  return 0;
}

inline bool scanning() { return scanningChild() != 0; }

// False after 20 s without the condition.
template <typename Condition>
bool waitFor(Condition condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}
