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

void RecordReport::poll() {
  if (failed_) return;
  if (path_.empty()) {
    std::ifstream lines(manifest_);
    std::getline(lines, path_);
    if (path_.empty()) return;  // the program has not started its trace yet
  }
  try {
    if (!analyzer_) analyzer_ = std::make_unique<analysis::TraceAnalyzer>(path_);
    if (analyzer_->readMore() > 0) analyzer_->prepareSymbols();
  } catch (const format::TraceError& error) {
    // A trace without its header yet is not an error; it is when the program is over.
    if (analyzer_) {
      fprintf(stderr, "tidemark: %s\n", error.what());
      failed_ = true;
    }
  }
}

bool RecordReport::finish() {
  poll();
  if (!analyzer_) {
    if (!failed_ && !path_.empty()) fprintf(stderr, "tidemark: %s holds no trace\n", path_.c_str());
    return false;
  }
  if (failed_) return false;
  analysis::Analysis result = analyzer_->result();
  if (!output_.empty()) result.path = output_;
  reportProblems(result);
  printTextReport(result, top_, stderr);
  return true;
}

}  // namespace tidemark::cli
