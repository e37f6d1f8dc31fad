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
struct Dwfl_Module;

namespace tidemark::analysis {

class CodeScopes;

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
  // The ELF function symbol around pc, from a per-module table sorted by address
  // (dwfl_module_addrname scans the whole symbol table on every call).
  const char* functionAt(::Dwfl_Module* module, uint64_t pc);

  struct Symbol {
    uint64_t start;
    uint64_t end;
    const char* name;  // owned by libdw, alive as long as dwfl_
    int rank;          // of aliases at one address the global one wins, as in libdw
    bool sized;        // false: an assembly label or function without a size
  };
  // A module's function symbols and labels of code, sorted by address.
  static std::vector<Symbol> readSymbols(::Dwfl_Module* module);
  std::unordered_map<::Dwfl_Module*, std::vector<Symbol>> symbols_;
  // Per compile unit (by its DIE's address in the debug data), read when first needed.
  std::unordered_map<const void*, std::unique_ptr<CodeScopes>> codeScopes_;

  ::Dwfl* dwfl_ = nullptr;
  std::unordered_map<uint64_t, std::vector<Frame>> cache_;
  std::vector<std::string> warnings_;
};

// Demangles a C++ symbol name; returns it unchanged when it is not mangled.
std::string demangle(const char* name);

}  // namespace tidemark::analysis
