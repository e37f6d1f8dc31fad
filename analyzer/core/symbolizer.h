// Offline symbolization: instruction addresses of a traced process → source frames,
// through the module map and libdw (DWARF line tables, inlined calls, ELF symbols).
// Not thread-safe; one per analysis. Results are cached per address.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis.h"
#include "trace_reader.h"

struct Dwfl;  // libdw

namespace tidemark::analysis {

class Symbolizer {
 public:
  explicit Symbolizer(const std::vector<format::ModuleInfo>& modules);
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // The frames of one return address, innermost (inlined) first.
  const std::vector<Frame>& frames(uint64_t returnAddress);

  // Modules whose file is missing or has another build-id than the traced one.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::vector<Frame> lookup(uint64_t returnAddress);

  ::Dwfl* dwfl_ = nullptr;
  std::unordered_map<uint64_t, std::vector<Frame>> cache_;
  std::vector<std::string> warnings_;
};

// Demangles a C++ symbol name; returns it unchanged when it is not mangled.
std::string demangle(const char* name);

}  // namespace tidemark::analysis
