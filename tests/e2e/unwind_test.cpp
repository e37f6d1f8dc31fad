// The fast unwinder (per-IP frame rules and the stack-suffix cache) must give exactly the
// stacks libunwind gives: with TIDEMARK_VERIFY_UNWIND=1 the tracer unwinds every capture
// both ways and reports how many differed.
#include <catch2/catch.hpp>
#include <regex>

#include "harness.h"

using namespace tidemark::e2e;

namespace {

void expectSameStacks(const std::string& name, const std::vector<std::string>& program,
                      uint64_t atLeast) {
  std::string dir = freshDir(name);
  std::vector<std::string> argv = {
      "env", "TIDEMARK_VERIFY_UNWIND=1", tool("tidemark"), "record", "-o", dir + "/trace.tmk",
      "--"};
  argv.insert(argv.end(), program.begin(), program.end());
  RunResult r = run(argv);
  INFO(r.output);
  CHECK(r.status == 0);
  std::smatch m;
  std::regex line("unwind check: ([0-9]+) stacks compared with libunwind, ([0-9]+) differed");
  REQUIRE(std::regex_search(r.output, m, line));
  CHECK(std::stoull(m[1]) >= atLeast);
  CHECK(m[2] == "0");
}

}  // namespace

TEST_CASE("fast unwinding equals libunwind: 1000 call paths of depth 5-40, two threads") {
  expectSameStacks("unwind-bench", {tool("alloc_bench"), "--ops", "300000"}, 250000);
}

TEST_CASE("fast unwinding equals libunwind: exceptions and signal handlers") {
  expectSameStacks("unwind-throw", {tool("test_endings"), "throw"}, 10000);
  expectSameStacks("unwind-signal", {tool("test_endings"), "signal"}, 1000);
}

TEST_CASE("fast unwinding equals libunwind: python3") {
  expectSameStacks(
      "unwind-python",
      {"/usr/bin/python3", "-c", "import json; print(len(json.dumps(list(range(99999)))))"}, 1000);
}
