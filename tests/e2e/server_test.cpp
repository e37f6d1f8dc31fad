// The sample event server under load: every planted leak of samples/event_server/leaks.h
// found with its exact bytes and blocks, named by its function and callers; the traced
// server answers and prints exactly what the untraced one does.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "harness.h"

using namespace tidemark::e2e;

namespace {

constexpr int kRequests = 700;
constexpr int kConnections = 7;

// Runs the server (traced when `trace` is non-empty) under the load generator; returns
// the server's output.
std::string serveLoad(const std::string& dir, const std::string& trace) {
  std::string portFile = dir + "/port";
  std::vector<std::string> server = {tool("event_server"), "--port-file", portFile};
  if (!trace.empty()) {
    server.insert(server.begin(), {tool("tidemark"), "record", "-o", trace, "--"});
  }
  Background process(server, dir + "/server.log");
  RunResult load =
      run({tool("loadgen"), "--port-file", portFile, "--requests", std::to_string(kRequests),
           "--connections", std::to_string(kConnections), "--quit"});
  INFO(load.output);
  CHECK(load.status == 0);
  CHECK(process.wait(60) == 0);
  return readFile(dir + "/server.log");
}

}  // namespace

TEST_CASE("sample server: each planted leak with its exact bytes, blocks and stack") {
  std::string dir = freshDir("server");
  std::string trace = dir + "/server.tmk";
  std::string output = serveLoad(dir, trace);
  CHECK(output.find("served 700 requests over 7 connections, 700 cached") != std::string::npos);
  CHECK(output.find("tidemark: wrote " + trace) != std::string::npos);

  auto report = analyze(trace);
  const auto& summary = report["summary"];
  CHECK(summary["complete"] == true);
  CHECK(summary["exit_reason"] == "exit");
  CHECK(summary["allocations"].get<uint64_t>() > 5 * kRequests);
  CHECK(summary["dropped_events"] == 0);

  // (a) every 7th request: 100 blocks of 256 bytes.
  Leak a = leakedAt(report, "sample::leakErrorBuffer");
  CHECK(a.blocks == kRequests / 7);
  CHECK(a.bytes == 256 * (kRequests / 7));
  CHECK(stackContains(report, "sample::leakErrorBuffer", "handleRequest"));
  CHECK(stackContains(report, "sample::leakErrorBuffer", "onReadable"));
  // (b) a Session per connection and its peer name.
  Leak b = leakedAt(report, "sample::openSession");
  CHECK(b.blocks == kConnections);
  CHECK(b.bytes == 64 * kConnections);
  Leak name = leakedAt(report, "sample::copyPeerName");
  CHECK(name.blocks == kConnections);
  CHECK(name.bytes == 32 * kConnections);
  CHECK(stackContains(report, "sample::copyPeerName", "sample::openSession"));
  // (c) the cache: one 48-byte entry per request.
  Leak c = leakedAt(report, "sample::cacheResponse");
  CHECK(c.blocks == kRequests);
  CHECK(c.bytes == 48 * kRequests);
  CHECK(stackContains(report, "sample::cacheResponse", "runCompletions"));
  // (d) a listener per connection.
  Leak d = leakedAt(report, "sample::subscribeConnection");
  CHECK(d.blocks == kConnections);
  CHECK(d.bytes == 40 * kConnections);
  // (e) on pool threads, every 10th job.
  Leak e = leakedAt(report, "sample::poolScratch");
  CHECK(e.blocks == kRequests / 10);
  CHECK(e.bytes == 512 * (kRequests / 10));
  CHECK(stackContains(report, "sample::poolScratch", "sample::ThreadPool::workerMain"));
  // The pool threads' DTVs (glibc's TLS tables) are no leak: the threads' control blocks,
  // in the stacks glibc keeps after the joins, hold them 16 bytes in by design.
  CHECK_FALSE(lostThrough(report, "_dl_allocate_tls"));

  // The text report names every site with file and line.
  RunResult text = run({tool("tidemark"), "analyze", trace, "--top", "20"});
  CHECK(text.status == 0);
  CHECK(text.output.find("25,600 bytes in 100 blocks") != std::string::npos);
  CHECK(text.output.find("at sample::leakErrorBuffer(unsigned long)  " +
                         sourcePath("samples/event_server/leaks.cpp")) != std::string::npos);

  // Threads: the loop thread and two named pool threads, each with a sampled stack.
  int poolThreads = 0;
  for (const auto& t : report["threads"]) {
    if (t["name"].get<std::string>().rfind("pool-", 0) != 0) continue;
    ++poolThreads;
    // Joined at shutdown: each ended before the trace did.
    CHECK(t["end_s"].get<double>() >= t["first_seen_s"].get<double>());
    CHECK(t["end_s"].get<double>() <= summary["duration_s"].get<double>());
  }
  CHECK(poolThreads == 2);
  CHECK(summary["peak_stack_bytes"].get<uint64_t>() > 0);
  CHECK(summary["peak_rss_bytes"].get<uint64_t>() > 1 << 20);
}

TEST_CASE("sample server: the traced run serves and prints what the untraced one does") {
  std::string plain = serveLoad(freshDir("server-untraced"), "");
  CHECK(plain == "event_server: served 700 requests over 7 connections, 700 cached\n");
  std::string dir = freshDir("server-traced");
  std::string trace = dir + "/server.tmk";
  // Traced, the output is the same but for record's own last line.
  CHECK(serveLoad(dir, trace) == plain + "tidemark: wrote " + trace + "\n");
}

TEST_CASE("sample server: a comparison between two load rounds shows each leak's growth") {
  std::string dir = freshDir("server-compare");
  std::string trace = dir + "/server.tmk", portFile = dir + "/port";
  auto started = std::chrono::steady_clock::now();
  Background server({tool("tidemark"), "record", "-o", trace, "--", tool("event_server"),
                     "--port-file", portFile},
                    dir + "/server.log");
  auto load = [&](int requests, bool quit) {
    std::vector<std::string> argv{tool("loadgen"),
                                  "--port-file",
                                  portFile,
                                  "--requests",
                                  std::to_string(requests),
                                  "--connections",
                                  std::to_string(kConnections)};
    if (quit) argv.push_back("--quit");
    CHECK(run(argv).status == 0);
  };
  load(kRequests, false);
  // A pause of 2 s between the rounds; the comparison starts in its middle (the trace's
  // clock starts a little after `started`, which the margin of 1 s absorbs).
  std::this_thread::sleep_for(std::chrono::seconds(1));
  double between =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  load(kRequests / 2, true);
  CHECK(server.wait(60) == 0);

  RunResult result =
      run({tool("tidemark"), "compare", trace, "--from", std::to_string(between) + "s", "--json"});
  REQUIRE(result.status == 0);
  auto comparison = nlohmann::json::parse(result.output);
  auto growthAt = [&](const std::string& function) {
    Leak sum;
    for (const auto& site : comparison["sites"]) {
      if (site["stack"].empty()) continue;
      if (site["stack"][0]["function"].get<std::string>().find(function) == std::string::npos) {
        continue;
      }
      sum.bytes += site["net_bytes"].get<int64_t>();
      sum.blocks += site["net_blocks"].get<int64_t>();
      ++sum.sites;
    }
    return sum;
  };
  // Requests 701..1050 of the numbering in leaks.h, over 7 new connections.
  constexpr uint64_t total = kRequests + kRequests / 2;
  Leak a = growthAt("sample::leakErrorBuffer");
  CHECK(a.blocks == total / 7 - kRequests / 7u);
  CHECK(a.bytes == 256 * a.blocks);
  CHECK(growthAt("sample::cacheResponse").blocks == kRequests / 2);
  CHECK(growthAt("sample::openSession").bytes == 64 * kConnections);
  Leak e = growthAt("sample::poolScratch");
  CHECK(e.blocks == total / 10 - kRequests / 10u);
  // The biggest grower comes first: pool scratch buffers, 35 x 512 B (the cache grew by
  // 350 x 48 B).
  CHECK(comparison["sites"][0]["stack"][0]["function"].get<std::string>().find("poolScratch") !=
        std::string::npos);
  CHECK(comparison["from_s"].get<double>() > 0.5);
  CHECK(comparison["net_bytes"].get<int64_t>() > 0);

  RunResult text = run({tool("tidemark"), "compare", trace, "--from", "0", "--top", "3"});
  CHECK(text.status == 0);
  CHECK(text.output.find("sites by net growth") != std::string::npos);
  CHECK(text.output.find("+49.2 KiB in +1,050 blocks") != std::string::npos);  // the cache
}
