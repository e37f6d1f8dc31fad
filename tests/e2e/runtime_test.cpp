// Real language runtimes under the tracer: python3 and node run, print and exit as they do
// untraced, and their traces hold plausible totals.
#include <signal.h>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace tidemark::e2e;

TEST_CASE("python3: same output and exit status, a readable trace") {
  std::string dir = freshDir("python");
  std::string script =
      "import sys, json\n"
      "rows = [{'id': i, 'name': 'row-%d' % i * 100} for i in range(20000)]\n"
      "print(len(json.dumps(rows)))\n"
      "sys.exit(3)\n";
  RunResult plain = run({"/usr/bin/python3", "-c", script});
  RunResult traced = run(
      {tool("tidemark"), "record", "-o", dir + "/py.tmk", "--", "/usr/bin/python3", "-c", script});
  CHECK(plain.status == 3);
  CHECK(traced.status == 3);
  CHECK(traced.output == plain.output + "tidemark: wrote " + dir + "/py.tmk\n");
  auto report = analyze(dir + "/py.tmk");
  CHECK(report["summary"]["complete"] == true);
  // Strings over 512 bytes bypass pymalloc's arenas and come from malloc, one each.
  CHECK(report["summary"]["allocations"].get<uint64_t>() > 20000);
  CHECK(report["summary"]["peak_heap_bytes"].get<uint64_t>() > 20000 * 600);
  // Nothing definitely or indirectly lost, as valgrind says of python3 too.
  REQUIRE(report["snapshots"].size() == 1);
  CHECK(report["snapshots"][0]["blocks"]["definite"] == 0);
  CHECK(report["snapshots"][0]["blocks"]["indirect"] == 0);
}

namespace {

struct NodeRun {
  nlohmann::json report;
  int status;  // record's
  std::string log;
};

// node samples/node/leaky_server.js under record, 200 requests over 4 connections; then
// asked to quit (`stop` 0) or sent the signal `stop`.
NodeRun nodeServerRun(const std::string& name, int stop) {
  std::string dir = freshDir(name);
  std::string portFile = dir + "/port";
  std::string trace = dir + "/node.tmk";
  Background server({tool("tidemark"), "record", "-o", trace, "--", "node",
                     sourcePath("samples/node/leaky_server.js"), portFile},
                    dir + "/server.log");
  std::vector<std::string> load = {tool("loadgen"), "--port-file",   portFile, "--requests",
                                   "200",           "--connections", "4"};
  if (!stop) load.push_back("--quit");
  CHECK(run(load).status == 0);
  if (stop) {
    std::vector<pid_t> children = childrenOf(server.pid());
    REQUIRE(children.size() == 1);
    kill(children[0], stop);
  }
  int status = server.wait(60);
  return {analyze(trace), status, readFile(dir + "/server.log")};
}

}  // namespace

TEST_CASE("node: the leaky Buffer server under load, same answers, leak visible") {
  NodeRun node = nodeServerRun("node", 0);
  CHECK(node.status == 0);
  CHECK(node.log.find("node server: 200 requests, 200 buffers retained") != std::string::npos);
  const auto& report = node.report;
  CHECK(report["summary"]["complete"] == true);
  CHECK(report["summary"]["allocations"].get<uint64_t>() > 1000);
  // The 200 retained 64 KiB Buffers are native allocations still live at exit...
  CHECK(report["summary"]["leaked_bytes"].get<uint64_t>() >= 200 * 64 * 1024);
  // ...and still reachable (from V8's heap, an anonymous mapping of node's): not lost.
  REQUIRE(report["snapshots"].size() == 1);
  CHECK(report["snapshots"][0]["bytes"]["reachable"].get<uint64_t>() >= 200 * 64 * 1024);
  // Nothing definitely or indirectly lost, as valgrind says. V8 marks its heap pages
  // MADV_DONTFORK; unscanned, they left its remembered-set slot sets looking lost.
  CHECK(report["snapshots"][0]["blocks"]["definite"] == 0);
  CHECK(report["snapshots"][0]["blocks"]["indirect"] == 0);
}

TEST_CASE("node stopped by SIGTERM: the exit snapshot is taken before it dies") {
  // node handles SIGTERM itself: it restores the default action and raises it again.
  NodeRun node = nodeServerRun("node-sigterm", SIGTERM);
  CHECK(node.status == 128 + SIGTERM);
  const auto& report = node.report;
  CHECK(report["summary"]["exit_reason"] == "SIGTERM");
  CHECK(report["summary"]["complete"] == true);
  REQUIRE(report["snapshots"].size() == 1);
  CHECK(report["snapshots"][0]["trigger"] == "exit");
  CHECK(report["snapshots"][0]["complete"] == true);
  CHECK(report["snapshots"][0]["bytes"]["reachable"].get<uint64_t>() >= 200 * 64 * 1024);
  CHECK(report["snapshots"][0]["blocks"]["definite"] == 0);
}
