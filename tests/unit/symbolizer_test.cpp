// Symbolization of this test program's own code: function, file, line, inlined frames.
#include "symbolizer.h"

#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "code_without_debug_info.h"
#include "temp_path.h"

using namespace tidemark;

namespace {

// The return address inside markerCaller is what the symbolizer sees for a call.
__attribute__((noinline)) void* returnAddressOfCaller() { return __builtin_return_address(0); }

const int kMarkerLine = __LINE__ + 3;

__attribute__((noinline)) void* markerCaller() {
  void* ip = returnAddressOfCaller();
  asm volatile("");
  return ip;
}

// Two calls inlined into one another: the symbolizer must name both, with the lines of
// their calls, before the function they were inlined into.
const int kInnerCallLine = __LINE__ + 2;
__attribute__((always_inline)) inline void* innerInlined() {
  void* ip = returnAddressOfCaller();
  asm volatile("");
  return ip;
}

const int kMiddleCallLine = __LINE__ + 2;
__attribute__((always_inline)) inline void* middleInlined() {
  void* ip = innerInlined();
  asm volatile("");
  return ip;
}

const int kOuterCallLine = __LINE__ + 2;
__attribute__((noinline)) void* outerCaller() {
  void* ip = middleInlined();
  asm volatile("");
  return ip;
}

std::vector<format::ModuleInfo> ownModules() {
  std::vector<format::ModuleInfo> modules;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* out = static_cast<std::vector<format::ModuleInfo>*>(data);
        std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (name.empty()) name = "/proc/self/exe";
        if (name.find('/') == std::string::npos) return 0;
        format::ModuleInfo m;
        m.path = name;
        m.loadBias = info->dlpi_addr;
        out->push_back(m);
        return 0;
      },
      &modules);
  return modules;
}

// The one frame of a return address in code without debug information: named, no source.
void checkNamedWithoutSource(void* returnAddress, const char* function) {
  analysis::Symbolizer symbolizer(ownModules());
  const auto& frames = symbolizer.frames(reinterpret_cast<uint64_t>(returnAddress));
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].function == function);
  CHECK(frames[0].file == "");
  CHECK(frames[0].line == 0);
}

}  // namespace

TEST_CASE("a return address in this program names its function, file and line") {
  auto ip = reinterpret_cast<uint64_t>(markerCaller());
  analysis::Symbolizer symbolizer(ownModules());
  const auto& frames = symbolizer.frames(ip);
  REQUIRE_FALSE(frames.empty());
  const auto& f = frames.back();
  CHECK(f.function.find("markerCaller") != std::string::npos);
  CHECK(f.file.find("symbolizer_test.cpp") != std::string::npos);
  CHECK(f.line == kMarkerLine);
  CHECK_FALSE(f.inlined);
  CHECK(f.address == ip);
}

TEST_CASE("a return address inside inlined calls names each of them, innermost first") {
  auto ip = reinterpret_cast<uint64_t>(outerCaller());
  analysis::Symbolizer symbolizer(ownModules());
  const auto& frames = symbolizer.frames(ip);
  REQUIRE(frames.size() == 3);
  CHECK(frames[0].function.find("innerInlined") != std::string::npos);
  CHECK(frames[0].line == kInnerCallLine);
  CHECK(frames[0].inlined);
  CHECK(frames[1].function.find("middleInlined") != std::string::npos);
  CHECK(frames[1].line == kMiddleCallLine);
  CHECK(frames[1].inlined);
  CHECK(frames[2].function.find("outerCaller") != std::string::npos);
  CHECK(frames[2].line == kOuterCallLine);
  CHECK_FALSE(frames[2].inlined);
  for (const auto& f : frames) {
    CHECK(f.file.find("symbolizer_test.cpp") != std::string::npos);
    CHECK(f.address == ip);
  }
}

TEST_CASE("code without debug information has a name but no file or line") {
  // Between two functions with line tables (code_without_debug_info.cpp).
  checkNamedWithoutSource(callFromCodeWithoutDebugInfo(returnAddressOfCaller),
                          "callFromCodeWithoutDebugInfo");
}

TEST_CASE("code under an assembly label is named by the label") {
  // Such a symbol has no type and no size (ld.so's _dl_start_user, below the frames of
  // every library constructor): it reaches to the next symbol.
  checkNamedWithoutSource(callThroughLabel(returnAddressOfCaller), "callThroughLabel");
}

TEST_CASE("an address outside every module is unknown, not an error") {
  analysis::Symbolizer symbolizer(ownModules());
  const auto& frames = symbolizer.frames(0x10);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].function == "??");
}

TEST_CASE("a module path that is no regular file is passed over without opening it") {
  // A trace names the files to read: a FIFO among them must not block the analysis. The
  // writer opened after a while only frees a symbolizer that did block.
  std::string fifo = test::tempPath("module.fifo");
  unlink(fifo.c_str());
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  std::thread unblock([&] {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) close(fd);
  });
  std::vector<format::ModuleInfo> modules = ownModules();
  modules.insert(modules.begin(), format::ModuleInfo{});
  modules.front().path = fifo;
  auto start = std::chrono::steady_clock::now();
  analysis::Symbolizer symbolizer(modules);
  auto waited = std::chrono::steady_clock::now() - start;
  unblock.join();
  unlink(fifo.c_str());
  CHECK(waited < std::chrono::seconds(2));
  REQUIRE(symbolizer.warnings().size() == 1);
  CHECK(symbolizer.warnings()[0] == fifo + ": not a regular file; its frames stay unnamed");
  // The modules after it are read as before.
  const auto& frames = symbolizer.frames(reinterpret_cast<uint64_t>(markerCaller()));
  REQUIRE_FALSE(frames.empty());
  CHECK(frames.back().function.find("markerCaller") != std::string::npos);
}

TEST_CASE("demangling") {
  CHECK(analysis::demangle("_ZN6sample11poolScratchEm") == "sample::poolScratch(unsigned long)");
  CHECK(analysis::demangle("malloc") == "malloc");
  // Rust: the legacy mangling (its hash left out) and v0.
  CHECK(analysis::demangle("_ZN5alloc5alloc5alloc17he58ee3c359579114E") == "alloc::alloc::alloc");
  CHECK(analysis::demangle("_RNvMs4_NtCslNYArtu3iFV_5alloc7raw_vecNtB5_11RawVecInner15try_"
                           "allocate_inCsduwmD7cSIQq_5gimli") ==
        "<alloc::raw_vec::RawVecInner>::try_allocate_in");
}
