// Background analysis of a trace (see loaded_trace.h).
#include "loaded_trace.h"

#include <chrono>

#include "analyze_trace.h"
#include "trace_reader.h"

namespace tidemark::viewer {

namespace {
constexpr int kFollowPollMs = 500;  // how often a followed trace is checked for growth
}

LoadedTrace::LoadedTrace(std::string path, bool follow) : path_(std::move(path)), follow_(follow) {
  worker_ = std::thread([this] { load(); });
}

LoadedTrace::~LoadedTrace() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  closing_.notify_all();
  worker_.join();
}

std::shared_ptr<const TraceModel> LoadedTrace::model() const {
  std::lock_guard lock(mutex_);
  return model_;
}

std::string LoadedTrace::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

namespace {
int64_t steadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

bool LoadedTrace::stoppedGrowing() const {
  return steadyNs() - publishedNs_.load(std::memory_order_relaxed) > 10'000'000'000;
}

void LoadedTrace::publish(std::shared_ptr<const TraceModel> model) {
  {
    std::lock_guard lock(mutex_);
    model_ = std::move(model);
  }
  publishedNs_.store(steadyNs(), std::memory_order_relaxed);
  ready_.store(true, std::memory_order_release);
}

void LoadedTrace::fail(const std::string& why) {
  {
    std::lock_guard lock(mutex_);
    error_ = why;
  }
  ready_.store(true, std::memory_order_release);
}

bool LoadedTrace::pause(int ms) {
  std::unique_lock lock(mutex_);
  return !closing_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return closed_; });
}

void LoadedTrace::load() {
  analysis::AnalyzeOptions options;
  options.progress = [this](uint64_t done, uint64_t total) {
    if (total) progress_.store(static_cast<float>(done) / total, std::memory_order_relaxed);
  };
  std::unique_ptr<analysis::TraceAnalyzer> analyzer;
  try {
    // A followed trace may not exist yet, or not have its header: wait for it.
    while (!analyzer) {
      try {
        analyzer = std::make_unique<analysis::TraceAnalyzer>(path_, options);
      } catch (const format::TraceError&) {
        if (!follow_ || !pause(kFollowPollMs)) throw;
      }
    }
    if (!follow_) {
      analyzer->readMore();
      analysis::Analysis result = analyzer->result(true);
      analyzer.reset();  // the replay's state is not needed to draw: free it first
      publish(buildModel(std::move(result), 1));
      return;
    }
    uint64_t generation = 0;
    do {
      if (analyzer->readMore() > 0 || generation == 0) {
        publish(buildModel(analyzer->result(), ++generation));
      }
    } while (!analyzer->finished() && !analyzer->corrupt() && pause(kFollowPollMs));
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

}  // namespace tidemark::viewer
