// For test programs that act while a snapshot's scan runs: whether the scanning child
// exists (the tracer's helper creates it while the program is stopped, and it names
// itself at once), and a bounded wait for a condition.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

inline bool scanning() {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream children(task.path() / "children");
    for (int pid; children >> pid;) {
      std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
      std::string name;
      std::getline(comm, name);
      if (name == "tidemark-scan") return true;
    }
  }
  return false;
}

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
