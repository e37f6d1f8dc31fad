// libdw-based symbolization (see symbolizer.h).
#include "symbolizer.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "code_scopes.h"

// libiberty.h (which demangle.h includes) declares basename itself unless told the
// system does, and glibc's C++ declaration differs from it.
#define HAVE_DECL_BASENAME 1
#include <libiberty/demangle.h>

namespace tidemark::analysis {
namespace {

const Dwfl_Callbacks kOfflineCallbacks = {
    dwfl_build_id_find_elf,
    dwfl_standard_find_debuginfo,
    dwfl_offline_section_address,
    nullptr,
};

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// The best name of a subprogram or inlined-subroutine DIE: its linkage name demangled
// (qualified, with parameters), else its plain name.
std::string dieName(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  Dwarf_Die origin;
  Dwarf_Die* named = die;
  if (dwarf_attr(die, DW_AT_abstract_origin, &attr) && dwarf_formref_die(&attr, &origin)) {
    named = &origin;
  }
  const char* linkage = nullptr;
  if (dwarf_attr_integrate(named, DW_AT_linkage_name, &attr) ||
      dwarf_attr_integrate(named, DW_AT_MIPS_linkage_name, &attr)) {
    linkage = dwarf_formstring(&attr);
  }
  if (linkage) return demangle(linkage);
  const char* name = dwarf_diename(named);
  return name ? name : "??";
}

std::string callFile(Dwarf_Die* cu, Dwarf_Die* inlined) {
  Dwarf_Attribute attr;
  Dwarf_Word index;
  if (!dwarf_attr(inlined, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &index) != 0) {
    return {};
  }
  Dwarf_Files* files;
  size_t count;
  if (dwarf_getsrcfiles(cu, &files, &count) != 0 || index >= count) return {};
  const char* name = dwarf_filesrc(files, index, nullptr, nullptr);
  return name ? name : "";
}

int callLine(Dwarf_Die* inlined) {
  Dwarf_Attribute attr;
  Dwarf_Word line;
  if (!dwarf_attr(inlined, DW_AT_call_line, &attr) || dwarf_formudata(&attr, &line) != 0) return 0;
  return static_cast<int>(line);
}

// libdw (dwfl_module_addrdie, dwfl_module_getsrc) takes the unit of the nearest address
// range below pc, even when pc lies past that range's end: code without debug information
// after it, such as crt1.o's _start, got the unit's last line. A unit without ranges is
// taken at its word.
bool unitCovers(Dwarf_Die* cu, Dwarf_Addr pc) {
  bool hasRanges = dwarf_hasattr(cu, DW_AT_low_pc) || dwarf_hasattr(cu, DW_AT_ranges);
  return !hasRanges || dwarf_haspc(cu, pc) > 0;
}

}  // namespace

std::string demangle(const char* name) {
  // libiberty's, which knows Rust's manglings (the legacy one, whose hash it leaves out,
  // and v0) beside C++'s: libstdc++'s __cxa_demangle left every Rust v0 name mangled.
  char* out = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
  if (!out) return name;
  std::string result(out);
  free(out);
  return result;
}

Symbolizer::Symbolizer(const std::vector<format::ModuleInfo>& modules) {
  dwfl_ = dwfl_begin(&kOfflineCallbacks);
  if (!dwfl_) return;
  dwfl_report_begin(dwfl_);
  for (const auto& m : modules) {
    // The path comes from the trace: a FIFO there would block the open forever, a device
    // read without end. Only regular files are ELF objects.
    struct stat st;
    if (stat(m.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      warnings_.push_back(m.path + ": not a regular file; its frames stay unnamed");
      continue;
    }
    Dwfl_Module* mod =
        dwfl_report_elf(dwfl_, m.path.c_str(), m.path.c_str(), -1, m.loadBias, false);
    if (!mod) {
      warnings_.push_back(m.path + ": cannot read (" + dwfl_errmsg(-1) +
                          "); its frames stay unnamed");
      continue;
    }
    const unsigned char* id;
    GElf_Addr vaddr;
    int n = dwfl_module_build_id(mod, &id, &vaddr);
    if (!m.buildId.empty() && n > 0 &&
        std::string(reinterpret_cast<const char*>(id), static_cast<size_t>(n)) != m.buildId) {
      warnings_.push_back(m.path + ": build-id " +
                          hex(std::string(reinterpret_cast<const char*>(id), n)) +
                          " differs from the traced " + hex(m.buildId) +
                          "; the file changed since the trace, names may be wrong");
    }
  }
  dwfl_report_end(dwfl_, nullptr, nullptr);
}

Symbolizer::~Symbolizer() {
  if (dwfl_) dwfl_end(dwfl_);
}

const std::vector<Frame>& Symbolizer::frames(uint64_t returnAddress) {
  auto it = cache_.find(returnAddress);
  if (it == cache_.end()) it = cache_.emplace(returnAddress, lookup(returnAddress)).first;
  return it->second;
}

std::vector<Symbolizer::Symbol> Symbolizer::readSymbols(Dwfl_Module* module) {
  std::vector<Symbol> table;
  int count = dwfl_module_getsymtab(module);
  for (int i = 1; i < count; ++i) {
    GElf_Sym sym;
    GElf_Addr address = 0;
    GElf_Word section = 0;
    Elf* elf = nullptr;
    Dwarf_Addr bias = 0;
    const char* name = dwfl_module_getsym_info(module, i, &sym, &address, &section, &elf, &bias);
    if (!name || !*name || address == 0) continue;
    int type = GELF_ST_TYPE(sym.st_info);
    bool function = type == STT_FUNC || type == STT_GNU_IFUNC;
    // A label in assembly code has no type and no size (ld.so's _dl_start_user, below
    // every library constructor's frames): one in a section of code names what follows.
    GElf_Shdr header;
    Elf_Scn* scn =
        elf && section != SHN_UNDEF && section < SHN_LORESERVE ? elf_getscn(elf, section) : nullptr;
    bool inCode = scn && gelf_getshdr(scn, &header) && (header.sh_flags & SHF_EXECINSTR);
    if (!function && !(type == STT_NOTYPE && inCode)) continue;
    int binding = GELF_ST_BIND(sym.st_info);
    int rank = !function ? 3 : binding == STB_GLOBAL ? 0 : binding == STB_WEAK ? 1 : 2;
    // Without a size, a symbol reaches to the next one, or to its section's end.
    uint64_t end = sym.st_size ? address + sym.st_size
                   : inCode    ? header.sh_addr + header.sh_size + bias
                               : address + 1;
    table.push_back({address, end, name, rank, sym.st_size != 0});
  }
  std::stable_sort(table.begin(), table.end(), [](const Symbol& a, const Symbol& b) {
    return a.start != b.start ? a.start < b.start : a.rank < b.rank;
  });
  auto sameStart = [](const Symbol& a, const Symbol& b) { return a.start == b.start; };
  table.erase(std::unique(table.begin(), table.end(), sameStart), table.end());
  // An unsized symbol inside a sized function is a label of that function's own code;
  // the others end where the next symbol starts.
  std::vector<Symbol> kept;
  uint64_t sizedEnd = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    Symbol symbol = table[i];
    if (!symbol.sized) {
      if (symbol.start < sizedEnd) continue;
      if (i + 1 < table.size()) symbol.end = std::min(symbol.end, table[i + 1].start);
    }
    sizedEnd = std::max(sizedEnd, symbol.sized ? symbol.end : 0);
    kept.push_back(symbol);
  }
  return kept;
}

const char* Symbolizer::functionAt(Dwfl_Module* module, uint64_t pc) {
  auto [it, inserted] = symbols_.try_emplace(module);
  std::vector<Symbol>& table = it->second;
  if (inserted) table = readSymbols(module);
  auto after = std::upper_bound(table.begin(), table.end(), pc,
                                [](uint64_t value, const Symbol& s) { return value < s.start; });
  // The nearest symbol at or below pc that covers it; sizes nest rarely, so look back a few.
  for (int back = 0; back < 4 && after != table.begin(); ++back) {
    --after;
    if (pc < after->end) return after->name;
  }
  return nullptr;
}

std::vector<Frame> Symbolizer::lookup(uint64_t returnAddress) {
  // A return address points after the call; the call itself is one byte earlier.
  Dwarf_Addr pc = returnAddress - 1;
  Frame outer;
  outer.address = returnAddress;
  outer.function = "??";
  Dwfl_Module* mod = dwfl_ ? dwfl_addrmodule(dwfl_, pc) : nullptr;
  if (!mod) return {outer};
  const char* modulePath = nullptr;
  dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr, &modulePath, nullptr);
  outer.module = modulePath ? modulePath : "";
  if (const char* symbol = functionAt(mod, pc)) {
    // ELF symbol versions ("puts@@GLIBC_2.2.5") are not part of the name.
    std::string name = symbol;
    name = name.substr(0, name.find('@'));
    outer.function = demangle(name.c_str());
  }
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(mod, pc, &bias);
  if (cu && !unitCovers(cu, pc - bias)) cu = nullptr;  // code without debug information
  if (Dwfl_Line* line = cu ? dwfl_module_getsrc(mod, pc) : nullptr) {
    int lineNumber = 0;
    if (const char* file = dwfl_lineinfo(line, nullptr, &lineNumber, nullptr, nullptr, nullptr)) {
      outer.file = file;
      outer.line = lineNumber;
    }
  }

  // Inlined calls, innermost first: each is a frame, and its call site
  // (DW_AT_call_file/line) is the position in the frame around it.
  std::vector<Frame> result;
  std::string file = outer.file;
  int lineNumber = outer.line;
  if (cu) {
    auto [scopes, inserted] = codeScopes_.try_emplace(cu->addr);
    if (inserted) scopes->second = std::make_unique<CodeScopes>(cu);
    for (Dwarf_Die& call : scopes->second->inlinedCallsAt(pc - bias)) {
      if (result.size() == 64) break;
      Frame frame = outer;
      frame.function = dieName(&call);
      frame.file = file;
      frame.line = lineNumber;
      frame.inlined = true;
      result.push_back(frame);
      file = callFile(cu, &call);
      lineNumber = callLine(&call);
    }
  }
  outer.file = file;
  outer.line = lineNumber;
  result.push_back(outer);
  return result;
}

}  // namespace tidemark::analysis
