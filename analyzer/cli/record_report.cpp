// The report of `tidemark record --report` (see record_report.h).
#include "record_report.h"

#include <cstdio>
#include <fstream>

#include "load_analysis.h"
#include "report.h"
#include "trace_reader.h"

namespace tidemark::cli {

RecordReport::RecordReport(std::string manifest, std::string output, size_t top)
    : manifest_(std::move(manifest)), output_(std::move(output)), top_(top) {}

RecordReport::~RecordReport() = default;

std::vector<std::string> listedTraces(const std::string& manifest) {
  std::vector<std::string> traces;
  std::ifstream lines(manifest);
  for (std::string line; std::getline(lines, line);) traces.push_back(line);
  return traces;
}

std::unique_ptr<analysis::TraceAnalyzer> RecordReport::openTrace(const std::string& path) const {
  analysis::AnalyzeOptions options;
  options.stacksOfSites = top_;
  return std::make_unique<analysis::TraceAnalyzer>(path, options);
}

void RecordReport::poll() {
  if (failed_) return;
  std::vector<std::string> traces = listedTraces(manifest_);
  if (traces.empty()) return;  // the program has not started its trace yet
  try {
    if (!analyzer_) analyzer_ = openTrace(traces[0]);
    analyzer_->readMore();
  } catch (const format::TraceError& error) {
    // A trace without its header yet is not an error; it is when the program is over.
    if (analyzer_) {
      fprintf(stderr, "tidemark: %s\n", error.what());
      failed_ = true;
    }
    return;
  }
  while (analyzer_->endedByExec() && followExec(traces)) {
  }
}

bool RecordReport::followExec(const std::vector<std::string>& traces) {
  for (size_t i = current_ + 1; i < traces.size(); ++i) {
    if (i < otherProcess_.size() && otherProcess_[i]) continue;
    std::unique_ptr<analysis::TraceAnalyzer> next;
    try {
      next = openTrace(traces[i]);
      next->readMore();
    } catch (const format::TraceError&) {
      return false;  // not readable yet: the next poll tries again
    }
    if (next->pid() != analyzer_->pid()) {  // a forked child's
      otherProcess_.resize(traces.size());
      otherProcess_[i] = true;
      continue;
    }
    analyzer_ = std::move(next);
    current_ = i;
    output_.clear();  // -o names the first program's trace, not this one
    return true;
  }
  return false;
}

std::optional<analysis::Analysis> RecordReport::finish() {
  poll();
  if (!analyzer_) {
    std::vector<std::string> traces = listedTraces(manifest_);
    if (!failed_ && !traces.empty())
      fprintf(stderr, "tidemark: %s holds no trace\n", traces[0].c_str());
    return std::nullopt;
  }
  if (failed_) return std::nullopt;
  analysis::Analysis result = analyzer_->result(true);
  if (!output_.empty()) result.path = output_;
  reportProblems(result);
  printTextReport(result, top_, stderr);
  return result;
}

}  // namespace tidemark::cli
