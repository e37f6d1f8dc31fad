// Background analysis of a trace (see loaded_trace.h).
#include "loaded_trace.h"

#include "analyze_trace.h"
#include "trace_reader.h"

namespace tidemark::viewer {

LoadedTrace::LoadedTrace(std::string path) : path_(std::move(path)) {
  worker_ = std::thread([this] {
    analysis::AnalyzeOptions options;
    options.progress = [this](uint64_t done, uint64_t total) {
      if (total) progress_.store(static_cast<float>(done) / total, std::memory_order_relaxed);
    };
    try {
      analysis_ = std::make_unique<analysis::Analysis>(analysis::analyzeTrace(path_, options));
    } catch (const std::exception& e) {
      error_ = e.what();
    }
    ready_.store(true, std::memory_order_release);
  });
}

LoadedTrace::~LoadedTrace() {
  if (worker_.joinable()) worker_.join();
}

}  // namespace tidemark::viewer
