// The code scopes of one compile unit — its functions and the calls inlined into them —
// read once into a tree of address ranges. Finding the inlined calls at an address is
// then a descent of that tree; dwarf_getscopes_die instead walks the unit from its start
// for every level, which on a C++ unit full of templates was most of the symbolizer's
// time after decompression.
#pragma once

#include <elfutils/libdw.h>

#include <cstdint>
#include <vector>

namespace tidemark::analysis {

class CodeScopes {
 public:
  explicit CodeScopes(Dwarf_Die* cu);

  // The inlined subroutines whose code holds `pc` (an address in the unit's DWARF
  // space), innermost first; empty when pc is in no inlined call.
  std::vector<Dwarf_Die> inlinedCallsAt(Dwarf_Addr pc) const;

 private:
  struct Range {
    Dwarf_Addr low, high;  // [low, high)
  };
  struct Scope {
    Dwarf_Die die;
    bool inlined;                   // an inlined subroutine; else a function
    std::vector<Range> ranges;      // where its code is
    std::vector<uint32_t> callees;  // scopes directly inside it
  };
  struct TopRange {  // a function's range, sorted by address for a binary search
    Range range;
    uint32_t scope;
  };

  // Adds the scopes inside `parent` (a DIE) to `into` (scope indexes).
  void collect(Dwarf_Die* parent, std::vector<uint32_t>& into);
  bool holds(const Scope& scope, Dwarf_Addr pc) const;

  std::vector<Scope> scopes_;
  std::vector<TopRange> top_;
};

}  // namespace tidemark::analysis
