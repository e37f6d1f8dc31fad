// A trace being analysed on a worker thread: the UI polls it and, once ready, draws the
// immutable Analysis (the viewer never parses the trace itself).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "analysis.h"

namespace tidemark::viewer {

class LoadedTrace {
 public:
  explicit LoadedTrace(std::string path);
  ~LoadedTrace();

  const std::string& path() const { return path_; }
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  float progress() const { return progress_.load(std::memory_order_relaxed); }
  // After ready(): the analysis, or null with error() set.
  const analysis::Analysis* analysis() const { return analysis_.get(); }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  std::unique_ptr<analysis::Analysis> analysis_;
  std::string error_;
  std::atomic<bool> ready_{false};
  std::atomic<float> progress_{0};
  std::thread worker_;
};

}  // namespace tidemark::viewer
