// A compile unit's functions and inlined calls as a tree of address ranges (see
// code_scopes.h).
#include "code_scopes.h"

#include <dwarf.h>

#include <algorithm>

namespace tidemark::analysis {

CodeScopes::CodeScopes(Dwarf_Die* cu) {
  std::vector<uint32_t> functions;
  collect(cu, functions);
  for (uint32_t f : functions) {
    for (const Range& r : scopes_[f].ranges) top_.push_back({r, f});
  }
  std::sort(top_.begin(), top_.end(),
            [](const TopRange& a, const TopRange& b) { return a.range.low < b.range.low; });
}

void CodeScopes::collect(Dwarf_Die* parent, std::vector<uint32_t>& into) {
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return;
  do {
    switch (dwarf_tag(&child)) {
      case DW_TAG_subprogram:
      case DW_TAG_inlined_subroutine: {
        Scope scope{child, dwarf_tag(&child) == DW_TAG_inlined_subroutine, {}, {}};
        Dwarf_Addr base, low, high;
        for (ptrdiff_t at = 0; (at = dwarf_ranges(&child, at, &base, &low, &high)) > 0;) {
          scope.ranges.push_back({low, high});
        }
        if (scope.ranges.empty()) break;  // a declaration or an abstract instance: no code
        auto index = static_cast<uint32_t>(scopes_.size());
        scopes_.push_back(std::move(scope));
        std::vector<uint32_t> callees;
        collect(&child, callees);
        scopes_[index].callees = std::move(callees);
        into.push_back(index);
        break;
      }
      // Scopes without a frame of their own, which may hold functions or inlined calls:
      // what they hold belongs to the scope around them (dwarf_getscopes descends the same).
      case DW_TAG_lexical_block:
      case DW_TAG_try_block:
      case DW_TAG_catch_block:
      case DW_TAG_with_stmt:
      case DW_TAG_module:
      case DW_TAG_namespace:
      case DW_TAG_class_type:
      case DW_TAG_structure_type:
        collect(&child, into);
        break;
      default:
        break;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

bool CodeScopes::holds(const Scope& scope, Dwarf_Addr pc) const {
  return std::any_of(scope.ranges.begin(), scope.ranges.end(),
                     [pc](const Range& r) { return r.low <= pc && pc < r.high; });
}

std::vector<Dwarf_Die> CodeScopes::inlinedCallsAt(Dwarf_Addr pc) const {
  auto after =
      std::upper_bound(top_.begin(), top_.end(), pc,
                       [](Dwarf_Addr value, const TopRange& t) { return value < t.range.low; });
  if (after == top_.begin() || pc >= std::prev(after)->range.high) return {};
  std::vector<uint32_t> path{std::prev(after)->scope};
  for (bool deeper = true; deeper;) {
    deeper = false;
    for (uint32_t callee : scopes_[path.back()].callees) {
      if (holds(scopes_[callee], pc)) {
        path.push_back(callee);
        deeper = true;
        break;
      }
    }
  }
  // The calls inlined into the innermost function on the path (a nested function has
  // frames of its own).
  std::vector<Dwarf_Die> calls;
  for (auto it = path.rbegin(); it != path.rend() && scopes_[*it].inlined; ++it) {
    calls.push_back(scopes_[*it].die);
  }
  return calls;
}

}  // namespace tidemark::analysis
