// A trace being analysed on a worker thread: the UI polls it and draws the latest
// immutable TraceModel (the viewer never parses the trace itself). Following, the worker
// keeps reading the trace as it grows and publishes a new model after each growth, until
// the trace has its trailer or the viewer closes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "trace_model.h"

namespace tidemark::viewer {

class LoadedTrace {
 public:
  LoadedTrace(std::string path, bool follow);
  ~LoadedTrace();

  const std::string& path() const { return path_; }
  bool following() const { return follow_; }
  // The first model was published, or loading failed.
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  float progress() const { return progress_.load(std::memory_order_relaxed); }
  // The latest model; null before the first one or when the trace cannot be read.
  std::shared_ptr<const TraceModel> model() const;
  // Why the trace cannot be read (or why following stopped); empty when all is well.
  std::string error() const;
  // No model was published for 10 s: a followed trace stopped growing (its writer died).
  bool stoppedGrowing() const;

 private:
  void load();
  void publish(std::shared_ptr<const TraceModel> model);
  void fail(const std::string& why);
  // Waits up to `ms` or until the viewer closes; false when it closes.
  bool pause(int ms);

  std::string path_;
  bool follow_;
  mutable std::mutex mutex_;
  std::condition_variable closing_;
  bool closed_ = false;
  std::shared_ptr<const TraceModel> model_;
  std::string error_;
  std::atomic<bool> ready_{false};
  std::atomic<float> progress_{0};
  std::atomic<int64_t> publishedNs_{0};  // steady clock
  std::thread worker_;
};

}  // namespace tidemark::viewer
