// Heap-graph snapshots of real processes: every root and pointer kind classified as
// valgrind memcheck classifies it, the same lost totals as valgrind on the samples, no
// EINTR seen by a program under 100 snapshots, and the --fail-on gate.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include "../../bench/chained_heap.h"
#include "harness.h"

using namespace tidemark::e2e;

namespace {

using Strings = std::vector<std::string>;

Strings incompleteReasons(const nlohmann::json& snapshot) {
  return snapshot["incomplete_reasons"].get<Strings>();
}

// What valgrind memcheck says about the same program: the LEAK SUMMARY totals, and the
// innermost program function of each lost record.
struct Memcheck {
  std::map<std::string, Totals> summary;  // "definitely", "indirectly", "possibly"
  std::set<std::string> lostFunctions;
  std::map<std::string, Totals> viaHeuristic;  // "of which reachable via heuristic"
};

Memcheck parseMemcheck(const std::string& log) {
  Memcheck m;
  std::smatch match;
  std::regex summary(
      R"((definitely|indirectly|possibly) lost: ([0-9,]+) bytes in ([0-9,]+) blocks)");
  auto number = [](std::string s) {
    s.erase(std::remove(s.begin(), s.end(), ','), s.end());
    return std::stoull(s);
  };
  for (auto it = std::sregex_iterator(log.begin(), log.end(), summary);
       it != std::sregex_iterator(); ++it) {
    m.summary[(*it)[1]] = {number((*it)[2]), number((*it)[3])};
  }
  std::regex record(
      R"(are (definitely|indirectly) lost in loss record[^\n]*\n[^\n]*at 0x[0-9A-F]+: [^\n]*\n[^\n]*by 0x[0-9A-F]+: ([^\n]*) \()");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), record); it != std::sregex_iterator();
       ++it) {
    m.lostFunctions.insert((*it)[2]);
  }
  std::regex heuristic(
      R"((stdstring|length64|newarray|multipleinheritance) *: ([0-9,]+) bytes in ([0-9,]+) blocks)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), heuristic);
       it != std::sregex_iterator(); ++it) {
    m.viaHeuristic[(*it)[1]] = {number((*it)[2]), number((*it)[3])};
  }
  return m;
}

std::set<std::string> ourLostFunctions(const nlohmann::json& report) {
  std::set<std::string> out;
  for (const auto& g : report["leaks"]) {
    if ((g["kind"] == "definite" || g["kind"] == "indirect") && !g["stack"].empty()) {
      out.insert(g["stack"][0]["function"].get<std::string>());
    }
  }
  return out;
}

void expectSameAsMemcheck(const nlohmann::json& report, const std::string& valgrindLog) {
  Memcheck m = parseMemcheck(valgrindLog);
  INFO(valgrindLog.substr(valgrindLog.size() > 3000 ? valgrindLog.size() - 3000 : 0));
  REQUIRE(m.summary.count("definitely"));
  CHECK(snapshotTotals(report, "definite") == m.summary["definitely"]);
  CHECK(snapshotTotals(report, "indirect") == m.summary["indirectly"]);
  // Every block we call lost, memcheck calls lost too, and the other way round.
  CHECK(ourLostFunctions(report) == m.lostFunctions);
}

// Runs `command` under memcheck and compares its report with ours (above).
void expectSameAsMemcheckOf(const nlohmann::json& report, std::vector<std::string> command) {
  command.insert(command.begin(), {"valgrind", "--leak-check=full", "--show-leak-kinds=all"});
  expectSameAsMemcheck(report, run(command, 300).output);
}

// Records `command` (with `options`) with a snapshot every `every` into DIR/t.tmk, checks
// that it exited 0 within two minutes having printed each of `says`, and returns the
// analysis of its trace.
nlohmann::json analyzeSnapshotRun(const std::string& dir, const std::string& every,
                                  const std::vector<std::string>& command,
                                  const std::vector<std::string>& says,
                                  const std::vector<std::string>& options = {}) {
  std::vector<std::string> argv{tool("tidemark"), "record", "--snapshot-every", every, "-o",
                                dir + "/t.tmk"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  RunResult r = run(argv, 120);
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (const auto& text : says) CHECK(r.output.find(text) != std::string::npos);
  return analyze(dir + "/t.tmk");
}

// Records `program` (a test program, no arguments) into DIR/t.tmk with `options`; checks
// that it exited 0. Returns its output and the analysis.
std::pair<std::string, nlohmann::json> recordProgram(const std::string& dir,
                                                     const std::string& program,
                                                     const std::vector<std::string>& options) {
  std::vector<std::string> argv{tool("tidemark"), "record", "-o", dir + "/t.tmk"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.push_back(tool(program));
  RunResult r = run(argv, 120);
  INFO(r.output);
  REQUIRE(r.status == 0);
  return {r.output, analyze(dir + "/t.tmk")};
}

// Records `program DIR` into DIR/t.tmk; checks that it exited 0. Returns the analysis, or
// nothing when the program said `nothingToTest` (it could not set its case up here).
std::optional<nlohmann::json> recordProgramIn(const std::string& dir, const std::string& program,
                                              const std::string& nothingToTest) {
  RunResult r = run({tool("tidemark"), "record", "-o", dir + "/t.tmk", "--", tool(program), dir});
  INFO(r.output);
  REQUIRE(r.status == 0);
  if (r.output.find(nothingToTest) != std::string::npos) return std::nullopt;
  return analyze(dir + "/t.tmk");
}

// Checks that the report has one snapshot, complete, whose only lost blocks are `lost`,
// definitely lost from `function`; returns it.
const nlohmann::json& onlySnapshotLosing(const nlohmann::json& report, const char* function,
                                         Totals lost) {
  REQUIRE(report["snapshots"].size() == 1);
  const auto& snapshot = report["snapshots"][0];
  CHECK(snapshot["complete"] == true);
  CHECK(groupTotals(report, "definite", function) == lost);
  CHECK(snapshot["blocks"]["definite"] == lost.blocks);
  CHECK(snapshot["blocks"]["indirect"] == 0);
  CHECK(snapshot["blocks"]["possible"] == 0);
  return snapshot;
}

// Records `program`, which asks for one snapshot (tidemark.h) of a heap big enough to be
// guarded by default, into DIR/t.tmk; checks that it exited 0 and that its snapshots are
// that one, guarded, and the one at exit. Returns its output and the analysis.
std::pair<std::string, nlohmann::json> recordGuardedApiSnapshot(const std::string& dir,
                                                                const std::string& program) {
  auto [output, report] = recordProgram(dir, program, {});
  const auto& snapshots = report["snapshots"];
  REQUIRE(snapshots.size() == 2);
  CHECK(snapshots[0]["trigger"] == "api");
  CHECK(snapshots[0]["guarded"] == true);
  CHECK(snapshots[1]["trigger"] == "exit");
  return {output, report};
}

// The time of the one tidemark_mark() of the run.
double onlyMarkTime(const nlohmann::json& report) {
  REQUIRE(report["marks"].size() == 1);
  return report["marks"][0]["time_s"].get<double>();
}

}  // namespace

TEST_CASE("leak kinds: every root and pointer kind gets memcheck's class") {
  std::string dir = freshDir("leak-kinds");
  RunResult r =
      run({tool("tidemark"), "record", "-o", dir + "/t.tmk", "--", tool("test_leak_kinds")});
  REQUIRE(r.status == 0);
  auto report = analyze(dir + "/t.tmk");
  REQUIRE(report["snapshots"].size() == 1);
  CHECK(report["snapshots"][0]["trigger"] == "exit");
  CHECK(report["snapshots"][0]["complete"] == true);
  CHECK(snapshotTotals(report, "definite") == Totals{65840, 5});
  CHECK(snapshotTotals(report, "indirect") == Totals{240, 7});
  CHECK(groupTotals(report, "definite", "hideByXor") == Totals{104, 1});
  CHECK(groupTotals(report, "definite", "keptInFreedBlock") == Totals{120, 1});
  CHECK(groupTotals(report, "definite", "lostLargeBlock") == Totals{65536, 1});
  CHECK(groupTotals(report, "definite", "cycleNode") == Totals{48, 1});
  CHECK(groupTotals(report, "indirect", "cycleNode") == Totals{48, 1});
  CHECK(groupTotals(report, "definite", "treeNode") == Totals{32, 1});
  CHECK(groupTotals(report, "indirect", "treeNode") == Totals{192, 6});
  CHECK(groupTotals(report, "possible", "keptByInterior") == Totals{88, 1});
  for (const char* reachable : {"keptByBlockedThread", "keptInTls", "keptInMapping",
                                "keptInDontFork", "keptByArrayCookie", "keptAsSecondBase"}) {
    INFO(reachable);
    for (const char* kind : {"definite", "indirect", "possible"}) {
      CHECK(groupTotals(report, kind, reachable) == Totals{});
    }
  }
  // The text report leads with reachability.
  RunResult text = run({tool("tidemark"), "analyze", dir + "/t.tmk"});
  CHECK(text.output.find("definitely lost    65,840 bytes in 5 blocks") != std::string::npos);
  CHECK(text.output.find("definitely lost 32 bytes in 1 blocks (first lost at") !=
        std::string::npos);
  CHECK(text.output.find("  snapshots    1: paused the program ") != std::string::npos);
  CHECK(text.output.find(" since)") == std::string::npos);  // no growth from one snapshot
  CHECK(text.output.find("--huge-pages shortens them") == std::string::npos);  // a tiny heap
}

TEST_CASE("a thread a debugger holds: the snapshot says it is incomplete, and why") {
  // tests/programs/held_thread.cpp: a child of the program holds one of its threads with
  // ptrace when it exits, so the exit snapshot cannot stop that thread.
  std::string dir = freshDir("held-thread");
  auto [output, report] = recordProgram(dir, "test_held_thread", {});
  REQUIRE(output.find("held") != std::string::npos);
  REQUIRE(report["snapshots"].size() == 1);
  const auto& s = report["snapshots"][0];
  CHECK(s["complete"] == false);
  CHECK(s["threads_not_stopped"] == 1);
  CHECK(incompleteReasons(s) == Strings{"ptrace_refused"});
  CHECK(groupTotals(report, "definite", "leakOne") == Totals{4321, 1});
  RunResult text = run({tool("tidemark"), "analyze", dir + "/t.tmk"});
  const std::string why =
      "1 thread not stopped (ptrace refused: a debugger or another tracer, or no permission)";
  CHECK(text.output.find("  snapshots    1 (1 incomplete): ") != std::string::npos);
  CHECK(text.output.find("               incomplete (1): " + why + "\n") != std::string::npos);
  CHECK(text.output.find("  INCOMPLETE: " + why + "\n") != std::string::npos);
  // A CI gate on it fails (only more blocks can look lost), and says why it may be too many.
  RunResult gate = run({tool("tidemark"), "analyze", "--fail-on", "definite", dir + "/t.tmk"});
  CHECK(gate.status != 0);
  CHECK(gate.output.find("--fail-on definite: 1 blocks lost (snapshot 1 is incomplete: " + why +
                         "; some of them may be held by what it could not see)") !=
        std::string::npos);
  // The leak is new in this snapshot: no growth rate from a start it does not have.
  CHECK(text.output.find("definitely lost 4,321 bytes in 1 blocks (first lost at ") !=
        std::string::npos);
  CHECK(text.output.find("per second since") == std::string::npos);
}

TEST_CASE("a program that gives up root is still stopped by its snapshots") {
  // tests/programs/privilege_drop.cpp becomes the user nobody, so the kernel makes it
  // non-dumpable, and the snapshot's helper (now nobody too) may not ptrace it unless the
  // stop makes it dumpable for its duration.
  std::string dir = freshDir("privilege-drop");
  auto [output, report] = recordProgram(dir, "test_privilege_drop", {});
  if (output.find("not root") != std::string::npos) return;
  // ... and not dumpable again after it.
  CHECK(output.find("dropped, dumpable 0") != std::string::npos);
  REQUIRE(report["snapshots"].size() == 2);
  for (const auto& s : report["snapshots"]) {
    INFO(s["trigger"]);
    CHECK(s["complete"] == true);
    CHECK(s["threads_not_stopped"] == 0);
    CHECK(Totals{s["bytes"]["definite"], s["blocks"]["definite"]} == Totals{4321 + 1234, 2});
  }
  CHECK(groupTotals(report, "definite", "leakBefore") == Totals{4321, 1});
  CHECK(groupTotals(report, "definite", "leakAfter") == Totals{1234, 1});
}

TEST_CASE("1,000 threads blocked in a wait: every snapshot stops them all") {
  // bench/blocked_threads.cpp: the threads wait 0.4 s while snapshots are taken every
  // 100 ms. Each is stopped on its own; a pause that long is the threads', not the heap's.
  std::string dir = freshDir("blocked-threads");
  auto report = analyzeSnapshotRun(dir, "100ms", {tool("blocked_threads"), "1000"},
                                   {"blocked_threads: 1000 threads"});
  REQUIRE(report["snapshots"].size() >= 2);
  double longest = 0;
  for (const auto& s : report["snapshots"]) {
    CHECK(s["complete"] == true);
    CHECK(s["threads_not_stopped"] == 0);
    CHECK(s["blocks"]["definite"] == 0);
    if (s["guarded"] == false) longest = std::max(longest, s["pause_ms"].get<double>());
  }
  RunResult text = run({tool("tidemark"), "analyze", dir + "/t.tmk"});
  CHECK(text.output.find("copied snapshot's pause grows with the heap") == std::string::npos);
  if (longest >= 20) {
    CHECK(text.output.find("(the pause grows with the number of threads, 1,001 here") !=
          std::string::npos);
  }
}

TEST_CASE("a limited address space: traced from 1 GiB, untraced and told below") {
  // Under ulimit -v the tracer cannot reserve its usual 64 GiB of address space; it takes
  // its memory in chunks as it needs them, each left out of a snapshot's roots as before
  // (the live-block tables hold every heap address: as roots they would hide the leaks).
  // Below 1 GiB it leaves the program alone and says why.
  std::string dir = freshDir("address-limit");
  auto limited = [&](const char* kib, const std::string& trace) {
    return run({"/bin/sh", "-c",
                std::string("ulimit -v ") + kib + " && exec '" + tool("tidemark") +
                    "' record -o '" + trace + "' -- '" + tool("test_leak_kinds") + "'"});
  };
  RunResult traced = limited("1500000", dir + "/t.tmk");
  INFO(traced.output);
  REQUIRE(traced.status == 0);
  auto report = analyze(dir + "/t.tmk");
  REQUIRE(report["snapshots"].size() == 1);
  CHECK(report["snapshots"][0]["complete"] == true);
  CHECK(snapshotTotals(report, "definite") == Totals{65840, 5});
  CHECK(snapshotTotals(report, "indirect") == Totals{240, 7});

  RunResult untraced = limited("100000", dir + "/u.tmk");
  CHECK(untraced.output.find("ready") != std::string::npos);  // the program ran
  CHECK(untraced.output.find("too little for the tracer (1 GiB or more): the program runs "
                             "untraced") != std::string::npos);
  CHECK(untraced.output.find("no trace was written") != std::string::npos);
}

TEST_CASE("tidemark snapshot of a stopped program says so, and has it once the program runs") {
  // A program stopped by SIGSTOP (or in a debugger) takes no snapshot until it runs again.
  std::string dir = freshDir("stopped-program");
  Background record({tool("tidemark"), "record", "-o", dir + "/t.tmk", "--", "sleep", "6"},
                    dir + "/log");
  pid_t program = 0;
  for (int i = 0; i < 200 && !program; ++i) {
    std::vector<pid_t> children = childrenOf(record.pid());
    if (!children.empty() && readFile(dir + "/t.tmk").size() > 0) program = children[0];
    usleep(20'000);
  }
  REQUIRE(program != 0);
  kill(program, SIGSTOP);
  std::thread resume([program] {
    sleep(3);  // the command has seen it stopped by then
    kill(program, SIGCONT);
  });
  RunResult r = run({tool("tidemark"), "snapshot", "--wait", "20", std::to_string(program)}, 60);
  resume.join();
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("is stopped (by a signal, or a debugger): its tracer takes the snapshot "
                      "once it runs again") != std::string::npos);
  CHECK(r.output.find("snapshot 1 of ") != std::string::npos);
  CHECK(record.wait(30) == 0);
}

TEST_CASE("record --report prints what analyze prints, read while the program ran") {
  std::string dir = freshDir("record-report");
  // alloc_bench runs long enough for the trace to be read in several pieces.
  for (const auto& program : {std::vector<std::string>{tool("alloc_bench"), "--ops", "1000000"},
                              std::vector<std::string>{tool("test_leak_kinds")}}) {
    std::string command = "'" + tool("tidemark") + "' record --report -o '" + dir + "/t.tmk' --";
    for (const auto& word : program) command += " '" + word + "'";
    RunResult r = run({"/bin/sh", "-c", command + " > /dev/null 2> '" + dir + "/report.txt'"});
    REQUIRE(r.status == 0);
    std::string report = readFile(dir + "/report.txt");
    std::string analyzed = run({tool("tidemark"), "analyze", dir + "/t.tmk"}).output;
    INFO(report);
    CHECK(report == analyzed + "tidemark: wrote " + dir + "/t.tmk\n");
  }
  CHECK(readFile(dir + "/report.txt").find("definitely lost    65,840 bytes in 5 blocks") !=
        std::string::npos);
}

TEST_CASE("record --report follows the process into the program it execs") {
  // A wrapper (pyenv's shims, a launcher script) execs the real program: the report is
  // about that program, not the wrapper.
  std::string dir = freshDir("record-report-exec");
  RunResult r = run({"/bin/sh", "-c",
                     "'" + tool("tidemark") + "' record --report -o '" + dir +
                         "/t.tmk' -- /bin/sh -c \"exec '" + tool("test_leak_kinds") +
                         "'\" > /dev/null 2> '" + dir + "/report.txt'"});
  REQUIRE(r.status == 0);
  std::string report = readFile(dir + "/report.txt");
  INFO(report);
  CHECK(report.find("  program      " + tool("test_leak_kinds")) != std::string::npos);
  CHECK(report.find("definitely lost    65,840 bytes in 5 blocks") != std::string::npos);
}

TEST_CASE("valgrind differential: the leak-kinds sample") {
  std::string dir = freshDir("memcheck-kinds");
  run({tool("tidemark"), "record", "-o", dir + "/t.tmk", "--", tool("test_leak_kinds")});
  RunResult vg =
      run({"valgrind", "--leak-check=full", "--show-leak-kinds=all", tool("test_leak_kinds")}, 300);
  auto report = analyze(dir + "/t.tmk");
  expectSameAsMemcheck(report, vg.output);
  // The new[] array and the second base are reachable only through memcheck's heuristics.
  std::map<std::string, Totals> ours;
  for (const auto& [name, totals] : report["snapshots"].back()["reachable_via_heuristic"].items()) {
    ours[name] = {totals["bytes"].get<uint64_t>(), totals["blocks"].get<uint64_t>()};
  }
  CHECK(ours.size() == 2);
  CHECK(ours == parseMemcheck(vg.output).viaHeuristic);
}

TEST_CASE("valgrind differential: the sample server under load") {
  std::string dir = freshDir("memcheck-server");
  auto serve = [&](std::vector<std::string> server, const std::string& log) {
    std::string portFile = dir + "/port-" + log;
    server.insert(server.end(), {tool("event_server"), "--port-file", portFile});
    Background process(server, dir + "/" + log);
    RunResult load = run({tool("loadgen"), "--port-file", portFile, "--requests", "700",
                          "--connections", "7", "--quit"},
                         300);
    CHECK(load.status == 0);
    CHECK(process.wait(300) == 0);
    return readFile(dir + "/" + log);
  };
  serve({tool("tidemark"), "record", "-o", dir + "/s.tmk", "--"}, "tidemark.log");
  std::string vg =
      serve({"valgrind", "--leak-check=full", "--show-leak-kinds=all"}, "valgrind.log");
  auto report = analyze(dir + "/s.tmk");
  expectSameAsMemcheck(report, vg);
  // And the planted leaks of leaks.h, by class: (a), (b), (e) lost; (c), (d) reachable.
  CHECK(groupTotals(report, "definite", "leakErrorBuffer") == Totals{25600, 100});
  CHECK(groupTotals(report, "definite", "openSession") == Totals{448, 7});
  CHECK(groupTotals(report, "indirect", "copyPeerName") == Totals{224, 7});
  CHECK(groupTotals(report, "definite", "poolScratch") == Totals{35840, 70});
  CHECK(groupTotals(report, "definite", "cacheResponse") == Totals{});
  CHECK(groupTotals(report, "definite", "subscribeConnection") == Totals{});
}

TEST_CASE("the sample server under load, guarded snapshots: each planted leak by class") {
  // 20,000 requests over 20 connections, a guarded snapshot every 100 ms. The scanning
  // child once scanned its own list of mappings as a root: with a heap guarded, that list
  // holds the guarded mappings' bounds, page addresses that can fall inside a block, and
  // one of the pool's 512-byte scratch blocks came out possibly lost instead of definitely
  // (three runs of three).
  std::string dir = freshDir("server-guarded");
  Background server({tool("tidemark"), "record", "--guard-heap", "--snapshot-every", "100ms", "-o",
                     dir + "/s.tmk", "--", tool("event_server"), "--port-file", dir + "/port"},
                    dir + "/server.log");
  constexpr uint64_t kRequests = 20000, kConnections = 20;
  RunResult load =
      run({tool("loadgen"), "--port-file", dir + "/port", "--requests", std::to_string(kRequests),
           "--connections", std::to_string(kConnections), "--quit"});
  CHECK(load.status == 0);
  REQUIRE(server.wait(120) == 0);
  auto report = analyze(dir + "/s.tmk");
  size_t guarded = 0;
  for (const auto& s : report["snapshots"]) {
    CHECK(s["complete"] == true);
    guarded += s["guarded"].get<bool>();
  }
  CHECK(guarded >= 2);
  // leaks.h: (a) 256 bytes every 7th request, (b) a 64-byte session holding a 32-byte
  // name per connection, (e) 512 bytes every 10th job.
  CHECK(groupTotals(report, "definite", "leakErrorBuffer") ==
        Totals{256 * (kRequests / 7), kRequests / 7});
  CHECK(groupTotals(report, "definite", "openSession") == Totals{64 * kConnections, kConnections});
  CHECK(groupTotals(report, "indirect", "copyPeerName") == Totals{32 * kConnections, kConnections});
  CHECK(groupTotals(report, "definite", "poolScratch") ==
        Totals{512 * (kRequests / 10), kRequests / 10});
  CHECK(groupTotals(report, "possible", "poolScratch") == Totals{});
  // That leak went on with every request: it had fewer bytes in the first snapshot that
  // had it, and the text report says how fast it grew since.
  int poolGroups = 0;
  for (const auto& g : report["leaks"]) {
    if (g["stack"][0]["function"].get<std::string>().find("poolScratch") == std::string::npos) {
      continue;
    }
    ++poolGroups;
    CHECK(g["first_group_bytes"].get<uint64_t>() > 0);
    CHECK(g["first_group_bytes"].get<uint64_t>() < g["bytes"].get<uint64_t>());
    CHECK(g["first_group_s"].get<double>() < report["snapshots"].back()["time_s"].get<double>());
  }
  CHECK(poolGroups == 1);
  RunResult text = run({tool("tidemark"), "analyze", dir + "/s.tmk"});
  size_t at = text.output.find("  definitely lost 1,024,000 bytes in 2,000 blocks (first lost at ");
  REQUIRE(at != std::string::npos);
  std::string line = text.output.substr(at, text.output.find('\n', at) - at);
  INFO(line);
  CHECK(line.find(" s, +") != std::string::npos);
  CHECK(line.ends_with(" per second since)"));
}

TEST_CASE("100 snapshots while threads block in 8 kinds of call: no EINTR, all complete") {
  auto report =
      analyzeSnapshotRun(freshDir("blocking"), "10ms", {tool("test_blocking"), "6"}, {"eintr=0"});
  const auto& snapshots = report["snapshots"];
  REQUIRE(snapshots.size() >= 100);
  for (const auto& s : snapshots) {
    CHECK(s["complete"] == true);
    CHECK(s["guarded"] == false);  // by default a heap this small is copied
  }
  CHECK(snapshots.back()["trigger"] == "exit");
  CHECK(snapshots.front()["trigger"] == "periodic");
  CHECK(groupTotals(report, "definite", "leakThree") == Totals{288, 3});
  // leakThree's blocks were lost from the start: first seen in the first snapshot.
  for (const auto& g : report["leaks"]) {
    if (g["stack"][0]["function"].get<std::string>().find("leakThree") != std::string::npos) {
      CHECK(g["first_seen_s"].get<double>() == snapshots.front()["time_s"].get<double>());
    }
  }
  CHECK(groupTotals(report, "definite", "keepFive") == Totals{});
}

TEST_CASE("guarded snapshots while threads block in 8 kinds of call: no EINTR and all complete") {
  // With --guard-heap the threads' stacks (8 MiB each) are guarded until the stop: a call
  // whose kernel side writes into a page of one (read, recv, epoll_wait's events) waits
  // for the helper to let the write through, and must neither fail nor see EINTR.
  auto report = analyzeSnapshotRun(freshDir("blocking-guarded"), "10ms",
                                   {tool("test_blocking"), "4"}, {"eintr=0"}, {"--guard-heap"});
  size_t guarded = 0;
  for (const auto& s : report["snapshots"]) {
    CHECK(s["complete"] == true);
    guarded += s["guarded"].get<bool>();
  }
  CHECK(guarded >= 30);  // 143-147 by hand under load; fewer on a busy CI machine
  CHECK(report["snapshots"].back()["trigger"] == "exit");
  CHECK(groupTotals(report, "definite", "leakThree") == Totals{288, 3});
  CHECK(groupTotals(report, "definite", "keepFive") == Totals{});
}

TEST_CASE("every snapshot is one moment: no juggled node is lost, copied or guarded") {
  // tests/programs/juggler.cpp: nodes move between two lists without pause, among 240 MB
  // of heap, and a chain hangs from two anchors by turns. A snapshot that mixed memory
  // from before and after a change would lose nodes.
  for (bool guarded : {false, true}) {
    INFO("guarded " << guarded);
    std::string dir = freshDir(guarded ? "juggler-guarded" : "juggler");
    RunResult r = run(recordArgv(dir + "/t.tmk", guarded, {tool("test_juggler"), "3"}), 120);
    INFO(r.output);
    REQUIRE(r.status == 0);
    auto report = analyze(dir + "/t.tmk");
    double planted = onlyMarkTime(report);
    size_t checked = 0;
    for (const auto& s : report["snapshots"]) {
      CHECK(s["guarded"] == guarded);
      CHECK(s["complete"] == true);
      if (s["time_s"].get<double>() < planted) continue;
      ++checked;
      CHECK(s["blocks"]["definite"] == 10);
      CHECK(s["bytes"]["definite"] == 10000);
      CHECK(s["blocks"]["indirect"] == 0);
    }
    CHECK(checked >= 5);
    CHECK(report["snapshots"].back()["trigger"] == "exit");  // no scanning child crashed
    CHECK(groupTotals(report, "definite", "plantTen") == Totals{10000, 10});
  }
}

TEST_CASE("memory the program unmaps during a guarded scan is kept unless the tracer cannot see") {
  // tests/programs/root_unmap.cpp: the scanning child is stopped while it writes block
  // records, the program unmaps a mapping of its own that held a pointer, then the child
  // goes on. Copied, the child has the mapping as it was. Guarded (by default too: its 2M
  // blocks are over 64 MiB), the munmap hook copies the mapping first; unmapped by the
  // system call itself, the child cannot read it and must say so, rather than call what
  // only that mapping pointed at lost. Made unreadable before it is unmapped (as V8 does
  // before it discards a page), the hook copies it through /proc/self/mem, without
  // faulting in the program.
  struct Case {
    std::string option, unmap;
    bool complete, guarded;
  };
  for (const Case& c : {Case{"--copy-heap", "raw", true, false}, Case{"", "libc", true, true},
                        Case{"", "discard", true, true}, Case{"", "sealed", true, true},
                        Case{"--guard-heap", "raw", false, true}}) {
    INFO(c.option << " " << c.unmap);
    std::string dir = freshDir("root-unmap" + c.option + c.unmap);
    std::vector<std::string> argv{tool("tidemark"), "record", "-o", dir + "/t.tmk"};
    if (!c.option.empty()) argv.push_back(c.option);
    argv.insert(argv.end(), {"--", tool("test_root_unmap"), dir, c.unmap});
    Background record(argv, dir + "/log");
    waitForText(dir + "/log", "ready", 60);
    std::vector<pid_t> program = childrenOf(record.pid());
    REQUIRE(program.size() == 1);
    // Only asked (--wait 0): the scan is to be caught while it runs.
    REQUIRE(run({tool("tidemark"), "snapshot", "--wait", "0", std::to_string(program[0])}).status ==
            0);
    pid_t scanner = snapshotProcess(program[0], "tidemark-scan");
    REQUIRE(scanner != 0);
    kill(scanner, SIGSTOP);
    std::ofstream(dir + "/unmap").close();
    waitForText(dir + "/log", "unmapped", 30);
    kill(scanner, SIGCONT);
    std::ofstream(dir + "/exit").close();
    REQUIRE(record.wait(120) == 0);
    auto report = analyze(dir + "/t.tmk");
    bool found = false;
    for (const auto& s : report["snapshots"]) {
      if (s["trigger"] != "signal") continue;
      found = true;
      CHECK(s["complete"] == c.complete);
      CHECK(incompleteReasons(s) == (c.complete ? Strings{} : Strings{"guard_lost_memory"}));
      CHECK(s["guarded"] == c.guarded);
      // The block only the mapping pointed at (2M others stay reachable), as it was.
      if (c.complete) CHECK(s["blocks"]["definite"] == 0);
      // All 2M blocks, after the live-block table doubled in place four times.
      CHECK(s["blocks"]["reachable"].get<uint64_t>() + s["blocks"]["definite"].get<uint64_t>() >=
            2'000'000);
    }
    CHECK(found);
  }
}

TEST_CASE("memory discarded before a guarded snapshot's stop is seen as it was at the stop") {
  // tests/programs/discard_scan.cpp: between the guard's arming and its stop the program
  // discards a page of a guarded DONTFORK mapping (which stays guarded, as V8's pages do)
  // and puts the only pointer to a block there; once
  // the program runs again (the scanning child exists) it zeroes the page. A discarded
  // page loses its write protection: unless the stop protects it again, the zeroing goes
  // through uncopied and the child, which reads roots last, finds the block lost.
  auto [output, report] = recordGuardedApiSnapshot(freshDir("discard-scan"), "test_discard_scan");
  bool ordered = output.find("discard_scan: rewritten") != std::string::npos;
  CHECK((ordered || output.find("discard_scan: missed") != std::string::npos));
  const auto& snapshot = report["snapshots"][0];
  CHECK(snapshot["complete"] == true);
  if (ordered) {  // the block reachable, as the page held it at the stop
    CHECK(snapshot["blocks"]["definite"] == 0);
    CHECK(snapshot["blocks"]["possible"] == 0);
  }
  CHECK(groupTotals(report, "definite", "keepBlock") == Totals{100, 1});
}

TEST_CASE("a thread arena's heap in two mappings: memory glibc discards in the second is its own") {
  // tests/programs/arena_pieces.cpp: a worker's arena heap grows while a guarded snapshot
  // holds part of it, so the next snapshot finds the heap in two mappings; while that one
  // is scanned, malloc_trim discards free blocks in the second, inside glibc. Memory that
  // goes before the child reads it makes a snapshot incomplete unless it is free memory of
  // the allocator's: the second mapping, not at the heap's 64 MiB boundary, must still be
  // known as the heap's.
  auto [output, report] =
      recordProgram(freshDir("arena-pieces"), "test_arena_pieces", {"--guard-heap"});
  CHECK(output.find("heap pieces 2, trimmed while scanned") != std::string::npos);
  const auto& snapshots = report["snapshots"];
  CHECK(snapshots.size() >= 3);
  for (const auto& s : snapshots) {
    CHECK(s["guarded"] == true);
    CHECK(s["complete"] == true);
    CHECK(s["blocks"]["definite"] == 0);
  }
}

TEST_CASE("writes to guarded memory go through while other memory is discarded page by page") {
  // tests/programs/discard_race.cpp: during a guarded scan one thread discards pages of a
  // region of its own, one after the other, while another writes to fresh pages of
  // another. The kernel refuses to lift a page's write protection while a discard waits
  // for its event: a write the helper could not let through then waited for the rest of
  // the scan (all of it before the helper retried; 0.6-1.7 s of a 1.2-1.6 s scan with the
  // helper's retries alone, which fail this test; under 50 ms now).
  auto [output, report] =
      recordProgram(freshDir("discard-race"), "test_discard_race", {"--guard-heap"});
  INFO(output);
  long long longestMs = -1, writes = 0;
  auto at = output.find("longest write ");
  REQUIRE(at != std::string::npos);
  REQUIRE(sscanf(output.c_str() + at, "longest write %lld ms, %lld writes", &longestMs, &writes) ==
          2);
  const auto& snapshot = report["snapshots"][0];
  CHECK(snapshot["trigger"] == "api");
  CHECK(snapshot["guarded"] == true);
  CHECK(snapshot["complete"] == true);
  double scanMs = snapshot["scan_ms"].get<double>();
  INFO("scan " << scanMs << " ms");
  CHECK(writes > 0);
  CHECK(static_cast<double>(longestMs) < scanMs / 2);
}

TEST_CASE("an ended thread's stack that glibc unmaps during a guarded scan leaves it whole") {
  // tests/programs/ended_stack.cpp: a thread that never allocated (no ring names its
  // stack) ends before the snapshot; while the scan runs, three bigger threads push
  // glibc's stack cache over its limit and glibc unmaps the first stack itself, out of
  // the hooks' sight. Guarded to the end, that stack was lost to the child and the
  // snapshot incomplete; shaped like a stack (above one inaccessible page), it goes to
  // the clone at the stop.
  auto [output, report] =
      recordProgram(freshDir("ended-stack"), "test_ended_stack", {"--guard-heap"});
  CHECK(output.find("stack unmapped while scanned") != std::string::npos);
  const auto& snapshot = report["snapshots"][0];
  CHECK(snapshot["trigger"] == "api");
  CHECK(snapshot["guarded"] == true);
  CHECK(snapshot["complete"] == true);
  CHECK(snapshot["blocks"]["definite"] == 0);
}

TEST_CASE("V8-shaped memory: small DONTFORK regions are guarded and keep their mark") {
  // tests/programs/dontfork_pages.cpp: 320 regions of 256 KiB, each marked DONTFORK and
  // holding the only pointer to a block. Its snapshot is guarded by default (80 MiB
  // resident); were the regions left out of the guard, they would be copied (not
  // guarded), and were they left out of both, their 320 blocks would be lost. The
  // program's fork checks that no region lost its mark.
  auto [output, report] =
      recordGuardedApiSnapshot(freshDir("dontfork-pages"), "test_dontfork_pages");
  CHECK(output.find("marks kept") != std::string::npos);
  const auto& snapshots = report["snapshots"];
  for (const auto& s : snapshots) {
    INFO("snapshot at " << s["time_s"]);
    CHECK(s["complete"] == true);
    CHECK(s["blocks"]["definite"] == 7);
    CHECK(s["bytes"]["definite"] == 700);
    CHECK(s["blocks"]["indirect"] == 0);
  }
  CHECK(snapshots[0]["blocks"]["reachable"].get<int>() >= 320);
}

TEST_CASE("another allocator's own mappings are never roots") {
  // tests/programs/registry_allocator.cpp, preloaded after the tracer, lists every block
  // it hands out in a registry inside the one mapping it makes on its first call. Scanned
  // as a root, that registry would keep every lost block reachable.
  std::string dir = freshDir("registry-allocator");
  RunResult r = run({"env", "LD_PRELOAD=" + tool("libtest_registry_allocator.so"), tool("tidemark"),
                     "record", "-o", dir + "/t.tmk", "--", tool("test_leak_kinds")});
  REQUIRE(r.status == 0);
  auto report = analyze(dir + "/t.tmk");
  CHECK(snapshotTotals(report, "definite") == Totals{65840, 5});
  CHECK(snapshotTotals(report, "indirect") == Totals{240, 7});
  CHECK(groupTotals(report, "possible", "keptByInterior") == Totals{88, 1});
  // The allocator's mapping is not the program's own either.
  CHECK(report["summary"]["mapped_bytes_at_exit"].get<uint64_t>() < (1u << 30));
  CHECK(report["warnings"].empty());
}

TEST_CASE("an allocator with more mappings than the tracer lists gets a warning, not silence") {
  // With a page of its own for every block, 20,000 allocations make more allocator
  // mappings than the tracer's table holds; those left out are scanned as roots.
  std::string dir = freshDir("allocator-overflow");
  RunResult r =
      run({"env", "REGISTRY_ALLOCATOR_PAGE_EACH=1",
           "LD_PRELOAD=" + tool("libtest_registry_allocator.so"), tool("tidemark"), "record", "-o",
           dir + "/t.tmk", "--", tool("alloc_bench"), "--ops", "20000", "--threads", "1"});
  REQUIRE(r.status == 0);
  RunResult text = run({tool("tidemark"), "analyze", dir + "/t.tmk"});
  CHECK(text.output.find("more mappings than the tracer can list (16,384)") != std::string::npos);
}

TEST_CASE("huge pages: the same leaks found in a heap that madvise split into mappings") {
  // snapshot_bench chains its blocks and drops every 100th: 120 of 12,045 in 100 MB. On
  // huge pages glibc madvises each 2 MiB of heap it adds, and blocks straddle mappings;
  // a scan that skipped such blocks broke the chain into hundreds of indirect leaks.
  std::string dir = freshDir("huge-pages");
  for (bool huge : {false, true}) {
    INFO("huge pages: " << huge);
    std::vector<std::string> argv{tool("tidemark"), "record", "-o", dir + "/h.tmk"};
    if (huge) argv.push_back("--huge-pages");
    argv.insert(argv.end(), {"--", tool("snapshot_bench"), "100"});
    RunResult r = run(argv);
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("120 dropped") != std::string::npos);
    // The heap really is on huge pages where the kernel offers them (madvise or always).
    std::string thp = readFile("/sys/kernel/mm/transparent_hugepage/enabled");
    bool offered =
        thp.find("[madvise]") != std::string::npos || thp.find("[always]") != std::string::npos;
    unsigned long long hugeKb = 0;
    sscanf(r.output.c_str() + r.output.find("snapshot_bench:"), "snapshot_bench: %llu kB", &hugeKb);
    if (huge && offered) CHECK(hugeKb >= 50 * 1024);
    if (!huge && thp.find("[always]") == std::string::npos) CHECK(hugeKb == 0);
    auto report = analyze(dir + "/h.tmk");
    REQUIRE(!report["snapshots"].empty());
    const auto& blocks = report["snapshots"].back()["blocks"];
    // A dropped block a stale word of the exiting program (a register, its stack) points
    // into is possibly lost, as memcheck would say: seen once (119 + 1) in a clean run.
    CHECK(blocks["definite"].get<int>() + blocks["possible"].get<int>() == 120);
    CHECK(blocks["possible"] <= 1);
    CHECK(blocks["indirect"] == 0);
    const auto& bytes = report["snapshots"].back()["bytes"];
    CHECK(bytes["definite"].get<uint64_t>() + bytes["possible"].get<uint64_t>() ==
          chainedDroppedBytes(100));
  }
}

TEST_CASE("by default a big heap is guarded while the program runs and at exit") {
  // write_bench builds 100 MB of chained blocks (120 of them dropped, as snapshot_bench's),
  // then writes words of random blocks for 1.5 s while snapshots are taken.
  std::string dir = freshDir("guard-auto");
  RunResult r = run({tool("tidemark"), "record", "--snapshot-every", "250ms", "-o", dir + "/t.tmk",
                     "--", tool("write_bench"), "100", "1.5"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  auto report = analyze(dir + "/t.tmk");
  const auto& snapshots = report["snapshots"];
  REQUIRE(snapshots.size() >= 3);
  const auto& atExit = snapshots.back();
  const auto& lastRunning = snapshots[snapshots.size() - 2];
  CHECK(atExit["trigger"] == "exit");
  CHECK(atExit["guarded"] == true);
  CHECK(lastRunning["trigger"] == "periodic");
  CHECK(lastRunning["guarded"] == true);
  for (const auto* s : {&lastRunning, &atExit}) {
    CHECK((*s)["complete"] == true);
    CHECK((*s)["blocks"]["definite"] == 120);
    CHECK((*s)["bytes"]["definite"] == chainedDroppedBytes(100));
    CHECK((*s)["blocks"]["indirect"] == 0);
  }
}

TEST_CASE(
    "a program that forks while its heap is guarded: children exit and every snapshot is whole") {
  // tests/programs/fork_scan.cpp: children free inherited blocks while the parent's
  // guarded scans run (a child shares the guard's memory and its registration).
  std::string dir = freshDir("fork-scan");
  auto report = analyzeSnapshotRun(dir, "100ms", {tool("test_fork_scan"), "8"}, {});
  double built = onlyMarkTime(report);
  size_t guarded = 0;
  for (const auto& s : report["snapshots"]) {
    CHECK(s["complete"] == true);
    if (s["time_s"].get<double>() < built) continue;
    guarded += s["guarded"].get<bool>();
    CHECK(s["blocks"]["definite"] == 120);
    CHECK(s["bytes"]["definite"] == chainedDroppedBytes(100));
    CHECK(s["blocks"]["indirect"] == 0);
  }
  CHECK(guarded >= 3);
  // Every child wrote a trace of its own (beside -o) and ended it.
  size_t children = 0;
  for (const auto& path : tracesIn(dir)) {
    if (path == dir + "/t.tmk") continue;
    ++children;
    CHECK(analyze(path)["summary"]["complete"] == true);
  }
  CHECK(children == 8);
}

TEST_CASE("the fail-on gate counts lost blocks, and no snapshot is taken at exit when asked") {
  std::string dir = freshDir("gate");
  run({tool("tidemark"), "record", "-o", dir + "/t.tmk", "--", tool("test_leak_kinds")});
  CHECK(run({tool("tidemark"), "analyze", "--fail-on", "definite", dir + "/t.tmk"}).status == 3);
  CHECK(run({tool("tidemark"), "analyze", "--fail-on", "none", dir + "/t.tmk"}).status == 0);
  CHECK(run({tool("tidemark"), "analyze", "--fail-on", "bogus", dir + "/t.tmk"}).status != 0);
  // The same gate in one command: record --fail-on reports as the program ends.
  RunResult gated = run({tool("tidemark"), "record", "--fail-on", "definite", "-o", dir + "/g.tmk",
                         "--", tool("test_leak_kinds")});
  CHECK(gated.status == 3);
  CHECK(gated.output.find("definitely lost    65,840 bytes in 5 blocks") != std::string::npos);
  CHECK(gated.output.find("--fail-on definite: 5 blocks lost") != std::string::npos);
  CHECK(run({tool("tidemark"), "record", "--fail-on", "definite", "-o", dir + "/h.tmk", "--",
             tool("test_handoff")})
            .status == 0);
  // A program that fails keeps its own status.
  CHECK(run({tool("tidemark"), "record", "--fail-on", "definite", "-o", dir + "/e.tmk", "--",
             tool("test_endings"), "fast-exit"})
            .status == 7);

  run({tool("tidemark"), "record", "--no-snapshot-at-exit", "-o", dir + "/n.tmk", "--",
       tool("test_leak_kinds")});
  auto report = analyze(dir + "/n.tmk");
  CHECK(report["snapshots"].empty());
  CHECK(run({tool("tidemark"), "analyze", "--fail-on", "definite", dir + "/n.tmk"}).status == 0);
}

TEST_CASE("a snapshot whose scanning process is killed is reported failed, and why") {
  // tests/programs/scan_killed.cpp SIGKILLs its first snapshot's scanning process (as the
  // out-of-memory killer would) and exits; the exit snapshot finds its 3 lost blocks.
  // Before format 1.5 the killed snapshot left a Begin and nothing said it had failed.
  for (std::string mode : {"copied", "guarded"}) {
    SECTION(mode) {
      std::string dir = freshDir("scan-killed-" + mode);
      std::vector<std::string> options;
      if (mode == "guarded") options.push_back("--guard-heap");
      auto [output, report] = recordProgram(dir, "test_scan_killed", options);
      CHECK(output.find("killed") != std::string::npos);
      // The out-of-memory killer is to take the scan's copy, not the program.
      CHECK(output.find("scanner's oom_score_adj 1000") != std::string::npos);
      const auto& failed = report["snapshots_failed"];
      REQUIRE(failed.size() == 1);
      CHECK(failed[0]["id"] == 0);
      CHECK(failed[0]["trigger"] == "api");
      CHECK(failed[0]["reason"] == "its scanning process was killed by SIGKILL");
      REQUIRE(report["snapshots"].size() == 1);
      CHECK(report["snapshots"][0]["id"] == 1);
      CHECK(report["snapshots"][0]["trigger"] == "exit");
      CHECK(groupTotals(report, "definite", "loseBlocks") == Totals{3333, 3});
      RunResult text = run({tool("tidemark"), "analyze", dir + "/t.tmk"});
      CHECK(text.output.find("failed       1 snapshot\n               #1 at ") !=
            std::string::npos);
      CHECK(text.output.find("(api): its scanning process was killed by SIGKILL") !=
            std::string::npos);
    }
  }
  // With no snapshot after it, the leak gate has nothing to judge by: it fails, and says why.
  std::string dir = freshDir("scan-killed-gate");
  RunResult gated = run({tool("tidemark"), "record", "--no-snapshot-at-exit", "--fail-on",
                         "definite", "-o", dir + "/t.tmk", "--", tool("test_scan_killed")});
  INFO(gated.output);
  CHECK(gated.status == 3);
  CHECK(gated.output.find("--fail-on definite: snapshot 1 (api, at ") != std::string::npos);
  CHECK(gated.output.find(" s) failed: its scanning process was killed by SIGKILL") !=
        std::string::npos);
}

TEST_CASE("memory the program cannot read is read as zeros and named, not the end of a snapshot") {
  // tests/programs/unreadable_pages.cpp keeps the only pointers to two blocks in the
  // readable first pages of a file mapping cut short (3 pages past the file's end: SIGBUS)
  // and of an anonymous mapping with a guard region (1 page: SIGSEGV), and loses 2 blocks
  // of 1,234 bytes. Such a page killed the scanning process: every snapshot failed.
  std::string dir = freshDir("unreadable");
  std::string file = dir + "/mapped";
  RunResult r = run({tool("tidemark"), "record", "-o", dir + "/t.tmk", "--",
                     tool("test_unreadable_pages"), file});
  INFO(r.output);
  REQUIRE(r.status == 0);
  bool guardRegion = r.output.find("guard region made") != std::string::npos;
  auto report = analyze(dir + "/t.tmk");
  CHECK(report["snapshots_failed"].empty());
  const auto& snapshot = onlySnapshotLosing(report, "loseBlocks", Totals{2468, 2});
  const auto& unreadable = snapshot["unreadable"];
  REQUIRE(unreadable.size() == (guardRegion ? 2u : 1u));
  for (const auto& range : unreadable) {
    INFO(range.dump());
    std::string mapping = range["mapping"];
    if (range["signal"] == "SIGBUS") {
      CHECK(range["bytes"] == 3 * 4096);
      CHECK(mapping.ends_with(" " + file));
    } else {
      CHECK(range["signal"] == "SIGSEGV");
      CHECK(range["bytes"] == 4096);
      CHECK(mapping.find(" rw-p 00000000 00:00 0") != std::string::npos);
    }
  }
  RunResult text = run({tool("tidemark"), "analyze", dir + "/t.tmk"});
  CHECK(text.output.find("  unreadable   memory in 1 snapshot, read as zeros; in #1:\n") !=
        std::string::npos);
  CHECK(text.output.find("12.0 KiB at 0x") != std::string::npos);
  CHECK(text.output.find(" (SIGBUS) of ") != std::string::npos);

  // A guard region inside a live block hides that block's pointers: incomplete.
  if (!guardRegion) return;
  RunResult inBlock = run({tool("tidemark"), "record", "-o", dir + "/b.tmk", "--",
                           tool("test_unreadable_pages"), file, "in-block"});
  REQUIRE(inBlock.status == 0);
  auto blockReport = analyze(dir + "/b.tmk");
  REQUIRE(blockReport["snapshots"].size() == 1);
  CHECK(blockReport["snapshots"][0]["complete"] == false);
  CHECK(incompleteReasons(blockReport["snapshots"][0]) == Strings{"blocks_unreadable"});
  CHECK(blockReport["snapshots"][0]["unreadable"].size() == 2);
}

TEST_CASE("valgrind differential: a device's memory is not scanned, /dev/zero's is") {
  // tests/programs/device_memory.cpp keeps the only pointer to a block of 2,222 bytes in
  // a private mapping of a character device (a node of /dev/zero's device, made in the
  // test's folder) and to one of 1,111 bytes in a private mapping of /dev/zero itself.
  // Reading a device's memory may hang or act on the device: memcheck leaves it out.
  std::string dir = freshDir("device-memory");
  auto recorded = recordProgramIn(dir, "test_device_memory", "no device node");  // not root
  if (!recorded) return;
  const auto& report = *recorded;
  CHECK(groupTotals(report, "definite", "keepBlockIn") == Totals{2222, 1});
  CHECK(report["snapshots"].back()["complete"] == true);
  std::string again = freshDir("device-memory-valgrind");
  expectSameAsMemcheckOf(report, {tool("test_device_memory"), again});
}

TEST_CASE("pointers in memory mostly never written are found") {
  // tests/programs/sparse_memory.cpp keeps the only pointers to two blocks in one page of
  // an 8 GiB reservation and of a 256 MiB calloc'd block, neither written elsewhere (the
  // scan reads only the pages ever written), and loses one block of 555 bytes. Copied by
  // default (the clone copies little of them), guarded sparsely with --guard-heap (the
  // child reads only the pages the program has: it read them whole, 27 s for 16 GiB).
  for (bool guarded : {false, true}) {
    INFO((guarded ? "--guard-heap" : "default"));
    std::string dir = freshDir(guarded ? "sparse-memory-guarded" : "sparse-memory");
    std::vector<std::string> options;
    if (guarded) options.push_back("--guard-heap");
    auto [output, report] = recordProgram(dir, "test_sparse_memory", options);
    const auto& snapshot = onlySnapshotLosing(report, "loseBlock", Totals{555, 1});
    CHECK(snapshot["guarded"] == guarded);
  }
}

TEST_CASE("memory written in scattered pages is guarded sparsely, and seen as at the stop") {
  // tests/programs/sparse_guard.cpp: 8 GiB reserved with one page written every 4 MiB, a
  // page table each that the clone would copy in the pause (16,384 such pages over 64 GB
  // paused a program 17-195 ms). Guarded sparsely by default, only its pages protected and
  // missing ones seen at their first touch: while the scan runs the program zeroes one
  // pointer, discards the page of another, writes two hidden ones, one into a page it
  // never touched, and unmaps a part holding a fourth, then maps fresh memory there and
  // writes a fifth; once more after 256 discards, which leave the tracer no room to note
  // such parts. The snapshot sees what the pages held at the stop.
  auto [output, report] = recordGuardedApiSnapshot(freshDir("sparse-guard"), "test_sparse_guard");
  CHECK(output.find("sparse_guard: registered missing+wp") != std::string::npos);
  // Had the scan ended before the changes, it read the pages as they were: the same
  // outcome, without the guard's part in it.
  INFO("changed while scanned: " << (output.find("sparse_guard: changed while scanned") !=
                                     std::string::npos));
  const auto& snapshots = report["snapshots"];
  for (const auto& s : snapshots) CHECK(s["complete"] == true);
  const auto& atStop = snapshots[0];
  INFO(atStop.dump());
  CHECK(Totals{atStop["bytes"]["definite"], atStop["blocks"]["definite"]} == Totals{29997, 5});
  CHECK(snapshotTotals(report, "definite") == Totals{22220, 5});
  CHECK(groupTotals(report, "definite", "placeBlocks") == Totals{22220, 5});
}

TEST_CASE("valgrind differential: glibc's pointer to the next chunk does not keep a block") {
  // tests/programs/chunk_pointer.cpp: a block of 4,321 bytes, its last word the first of
  // the next chunk's header, lost; a global points at that header, as malloc's own stale
  // locals do. It was "possibly lost" whenever such a pointer stayed in a root.
  std::string dir = freshDir("chunk-pointer");
  auto [output, report] = recordProgram(dir, "test_chunk_pointer", {});
  CHECK(groupTotals(report, "definite", "loseBlockBeforeAnother") == Totals{4321, 1});
  CHECK(report["snapshots"].back()["blocks"]["possible"] == 0);
  expectSameAsMemcheckOf(report, {tool("test_chunk_pointer")});
}

TEST_CASE("valgrind differential: libraries' constructors are traced, their destructors first") {
  // tests/programs/library_init.cpp keeps four blocks only in a registry its library
  // allocated in a constructor, which ran before the tracer's until the tracer started
  // first: the registry went unscanned and the four blocks were "definitely lost". The
  // library's constructor also loses 777 bytes, which went unseen. Its destructor frees a
  // cache, which the exit snapshot, taken before that destructor ran, counted as live.
  std::string dir = freshDir("library-init");
  auto [output, report] = recordProgram(dir, "test_library_init", {});
  onlySnapshotLosing(report, "loseBlockAtLoad", Totals{777, 1});
  CHECK(stackContains(report, "makeRegistry", "_dl_init"));
  CHECK(leakedAt(report, "makeRegistry").bytes == 32);  // not freed, reachable
  CHECK(leakedAt(report, "warmCache").blocks == 0);
  expectSameAsMemcheckOf(report, {tool("test_library_init")});
}

TEST_CASE("valgrind differential: a pointer left in freed memory handed out again keeps nothing") {
  // tests/programs/freed_holder.cpp: the only pointer to 40 bytes was in a block freed
  // since, whose memory glibc gives to the next block of its size uninitialized.
  std::string dir = freshDir("freed-holder");
  auto [output, report] = recordProgram(dir, "test_freed_holder", {});
  REQUIRE(output.find("reused") == 0);
  onlySnapshotLosing(report, "loseThroughFreedHolder", Totals{40, 1});
  expectSameAsMemcheckOf(report, {tool("test_freed_holder")});
  // Left as the allocator leaves it, the stale word keeps the block.
  auto [kept, keptReport] = recordProgram(dir, "test_freed_holder", {"--no-clear-freed"});
  CHECK(keptReport["snapshots"].back()["blocks"]["definite"] == 0);
}

TEST_CASE("valgrind differential: the exiting thread's registers are the program's at its call") {
  // tests/programs/register_exit.cpp calls _exit with the only pointer to 888 bytes in
  // rbx. The exit snapshot scans that thread from the program's frame, not the tracer's
  // below it, with rbx unwound from wherever the tracer's frames saved it.
  std::string dir = freshDir("register-exit");
  auto [output, report] = recordProgram(dir, "test_register_exit", {});
  const auto& snapshot = report["snapshots"].back();
  CHECK(snapshot["complete"] == true);
  CHECK(snapshot["blocks"]["definite"] == 0);
  CHECK(snapshot["blocks"]["possible"] == 0);
  CHECK(leakedAt(report, "main").bytes == 888);  // not freed, reachable
  expectSameAsMemcheckOf(report, {tool("test_register_exit")});
}

TEST_CASE("a thread's TLS is read from its own mapping, not the one below") {
  // tests/programs/tls_neighbour.cpp maps a page of a file, every word of it the only
  // pointer to 666 bytes, right below the main thread's TLS mapping. Read as TLS, the
  // block was reachable; and where the kernel's [vvar_vclock] lay there, the scan died.
  auto report = recordProgramIn(freshDir("tls-neighbour"), "test_tls_neighbour", "no room");
  if (report) onlySnapshotLosing(*report, "writeOnlyPointer", Totals{666, 1});
}

TEST_CASE("tidemark snapshot PID says when its snapshot failed, and why") {
  // test_scan_killed idle keeps a million blocks (a scan long enough to be caught); the
  // test kills the scanning process the request starts, as the out-of-memory killer would.
  std::string dir = freshDir("on-request-killed");
  Background traced(
      {tool("tidemark"), "record", "-o", dir + "/t.tmk", "--", tool("test_scan_killed"), "idle"},
      dir + "/log");
  waitForText(dir + "/log", "ready", 30);
  auto children = childrenOf(traced.pid());
  REQUIRE(children.size() == 1);
  pid_t program = children[0];
  for (bool json : {false, true}) {
    INFO((json ? "json" : "text"));
    std::vector<std::string> argv{tool("tidemark"), "snapshot", std::to_string(program)};
    if (json) argv.push_back("--json");
    Background asked(argv, dir + "/asked");
    pid_t scanner = snapshotProcess(program, "tidemark-scan");
    REQUIRE(scanner);
    kill(scanner, SIGKILL);
    CHECK(asked.wait(30) == 1);
    std::string output = readFile(dir + "/asked");
    INFO(output);
    if (json) {
      auto failed = nlohmann::json::parse(output.substr(output.find('{')));
      CHECK(failed["trace"] == dir + "/t.tmk");
      CHECK(failed["failed"]["id"] == 1);
      CHECK(failed["failed"]["trigger"] == "signal");
      CHECK(failed["failed"]["reason"] == "its scanning process was killed by SIGKILL");
    } else {
      CHECK(output.find("snapshot 1 of " + dir + "/t.tmk, at ") != std::string::npos);
      CHECK(output.find(" s, failed: its scanning process was killed by SIGKILL") !=
            std::string::npos);
    }
  }
  kill(program, SIGTERM);
  traced.wait(30);
}

TEST_CASE("tidemark.h: snapshots and marks asked for by the program itself") {
  std::string dir = freshDir("api");
  RunResult plain = run({tool("test_api_user")});
  CHECK(plain.status == 0);  // untraced: the calls are no-ops
  RunResult r =
      run({tool("tidemark"), "record", "-o", dir + "/a.tmk", "--", tool("test_api_user")});
  REQUIRE(r.status == 0);
  auto report = analyze(dir + "/a.tmk");
  const auto& snapshots = report["snapshots"];
  INFO("snapshots: " << snapshots.dump() << "\nsummary: " << report["summary"].dump());
  REQUIRE(snapshots.size() == 3);
  CHECK(snapshots[0]["trigger"] == "api");
  CHECK(snapshots[1]["trigger"] == "api");
  CHECK(snapshots[2]["trigger"] == "exit");
  CHECK(snapshots[0]["blocks"]["definite"] == 1);
  CHECK(snapshots[1]["blocks"]["definite"] == 2);
  double first = snapshots[0]["time_s"], second = snapshots[1]["time_s"];
  for (const auto& g : report["leaks"]) {
    std::string function = g["stack"][0]["function"];
    if (function.find("lostFirst") != std::string::npos) {
      CHECK(g["first_seen_s"] == first);
      CHECK(g["first_group_s"] == first);
      CHECK(g["first_group_bytes"] == 64);
    }
    if (function.find("lostSecond") != std::string::npos) {
      CHECK(g["first_seen_s"] == second);
      CHECK(g["first_group_s"] == second);
      CHECK(g["first_group_bytes"] == 128);
    }
  }
  CHECK(groupTotals(report, "definite", "lostSecond") == Totals{128, 1});
  // The text report's leak timeline: the lost bytes at each snapshot, and their growth.
  RunResult text = run({tool("tidemark"), "analyze", dir + "/a.tmk"});
  CHECK(text.output.find("  lost over the run (definitely + indirectly, 3 snapshots):\n") !=
        std::string::npos);
  for (const char* row : {"64 bytes in 1 blocks (api)", "192 bytes in 2 blocks (api)",
                          "192 bytes in 2 blocks (exit)"}) {
    CHECK(text.output.find(row) != std::string::npos);
  }
  // 128 bytes more from the first snapshot to the last.
  double span = snapshots[2]["time_s"].get<double>() - first;
  CHECK(text.output.find("    +" + std::to_string(static_cast<int64_t>(128 / span)) +
                         " B per second from the first to the last\n") != std::string::npos);
  CHECK(text.output.find(" resident in 1 thread\n") != std::string::npos);
  // Each leak happened once: the same at the end as when first lost.
  for (const char* group : {"definitely lost 64 bytes in 1 blocks (first lost at ",
                            "definitely lost 128 bytes in 1 blocks (first lost at "}) {
    size_t at = text.output.find(group);
    REQUIRE(at != std::string::npos);
    CHECK(text.output.substr(at, text.output.find('\n', at) - at).ends_with(", unchanged since)"));
  }
  const auto& marks = report["marks"];
  REQUIRE(marks.size() == 2);
  CHECK(marks[0]["label"] == "start");
  CHECK(marks[1]["label"] == "second leak");
  CHECK(marks[0]["time_s"].get<double>() <= first);
  CHECK(marks[1]["time_s"].get<double>() >= first);
}

TEST_CASE("memory marked DONTFORK while snapshots run is scanned in every snapshot") {
  // V8 maps its heap pages MADV_DONTFORK as it grows. Pages that appear between the
  // writer's listing of such mappings and the stop were missing from the copy, and the
  // blocks only they pointed at were reported lost.
  // The stop brings the listing up to date from what the hooks saw; regions the program
  // made forkable again, or replaced, must stay forkable: the program's fork checks.
  std::string dir = freshDir("dontfork-growth");
  auto report =
      analyzeSnapshotRun(dir, "20ms", {tool("test_dontfork_growth")}, {"the fork's copy is right"});
  REQUIRE(report["snapshots"].size() >= 10);
  for (const auto& s : report["snapshots"]) {
    INFO("snapshot at " << s["time_s"]);
    CHECK(s["blocks"]["definite"] == 0);
    CHECK(s["blocks"]["indirect"] == 0);
  }
  // Nothing was ever lost: the text report has no timeline of zeros.
  RunResult text = run({tool("tidemark"), "analyze", dir + "/t.tmk"});
  CHECK(text.output.find("definitely lost    0 bytes in 0 blocks") != std::string::npos);
  CHECK(text.output.find("lost over the run") == std::string::npos);
}

TEST_CASE("snapshots of a program that forks all the time: all complete, every child lives") {
  // tests/programs/fork_churn.cpp: two threads allocate and free each other's blocks (in
  // the tracer's hooks most of the time) while the main thread forks 200 children, whose
  // exits send SIGCHLD. A thread stopped inside a hook is let run on; when such a
  // thread was stopped for the signal as well, the stop used to go round until its 500
  // ms deadline and leave the snapshot incomplete (several in every run).
  auto report =
      analyzeSnapshotRun(freshDir("fork-churn-snapshots"), "20ms", {tool("test_fork_churn")},
                         {"fork_churn: 200 of 200 children exited 0"});
  CHECK(report["snapshots"].size() >= 20);
  for (const auto& s : report["snapshots"]) {
    INFO("snapshot at " << s["time_s"] << " paused " << s["pause_ms"] << " ms");
    CHECK(s["complete"] == true);
  }
  // Guarded, a child forked just after a snapshot's guard let its memory go found the
  // guard still named in its copy of the job and died reading it (2-6 of 200 per run);
  // and the guard ran out of room for copies of the arenas' pages, all written while the
  // child scanned, and some snapshots came out incomplete (0-2 of ~150 per run).
  auto guarded =
      analyzeSnapshotRun(freshDir("fork-churn-guarded"), "20ms", {tool("test_fork_churn")},
                         {"fork_churn: 200 of 200 children exited 0"}, {"--guard-heap"});
  size_t count = 0;
  for (const auto& s : guarded["snapshots"]) {
    INFO("guarded snapshot at " << s["time_s"]);
    CHECK(s["complete"] == true);
    count += s["guarded"].get<bool>();
  }
  CHECK(count >= 20);
}

TEST_CASE("a timed epoll_wait still times out while every snapshot restarts it") {
  // Each snapshot's stop makes epoll_wait return EINTR, and the helper restarts it. With
  // its whole 1.5 s timeout each time, a wait under snapshots every 100 ms never ended.
  auto report = analyzeSnapshotRun(freshDir("timed-wait"), "100ms", {tool("test_timed_wait")},
                                   {"epoll_wait returned 0 (ok)", "epoll_pwait returned 0 (ok)",
                                    "epoll_pwait2 returned 0 (ok)"});
  CHECK(report["snapshots"].size() >= 10);  // the waits were restarted many times
}

TEST_CASE("tidemark snapshot PID: a snapshot on request, no EINTR in the program") {
  std::string dir = freshDir("on-request");
  Background traced(
      {tool("tidemark"), "record", "-o", dir + "/r.tmk", "--", tool("test_blocking"), "3"},
      dir + "/log");
  // The traced program is the child of `tidemark record`.
  std::vector<pid_t> children;
  for (int i = 0; i < 200 && children.empty(); ++i) {
    children = childrenOf(traced.pid());
    if (children.empty()) usleep(10'000);
  }
  REQUIRE(children.size() == 1);
  usleep(500'000);
  // Each waits for its snapshot in the trace and prints its classes: test_blocking loses
  // 3 blocks of 96 bytes. The first names `tidemark record`, whose traced child is asked.
  for (int i = 0; i < 3; ++i) {
    pid_t named = i == 0 ? traced.pid() : children[0];
    RunResult asked = run({tool("tidemark"), "snapshot", std::to_string(named)});
    INFO(asked.output);
    CHECK(asked.status == 0);
    if (i == 0) {
      CHECK(asked.output.find("asking " + std::to_string(traced.pid()) +
                              "'s traced child, process " + std::to_string(children[0])) !=
            std::string::npos);
    }
    CHECK(asked.output.find("snapshot " + std::to_string(i + 1) + " of " + dir + "/r.tmk, at ") !=
          std::string::npos);
    CHECK(asked.output.find("definitely lost    288 bytes in 3 blocks") != std::string::npos);
    usleep(200'000);
  }
  CHECK(traced.wait(60) == 0);
  CHECK(readFile(dir + "/log").find("eintr=0") != std::string::npos);
  auto report = analyze(dir + "/r.tmk");
  int onRequest = 0;
  for (const auto& s : report["snapshots"]) onRequest += s["trigger"] == "signal";
  CHECK(onRequest == 3);
  CHECK(run({tool("tidemark"), "snapshot", std::to_string(getpid())}).status == 1);  // untraced
}

TEST_CASE(
    "tidemark snapshot PID reads the tracer's trace, not another .tmk file the program has open") {
  // python3 opens a decoy.tmk as its fd 0, ahead of the trace in /proc/PID/fd.
  std::string dir = freshDir("on-request-decoy");
  Background traced(
      {tool("tidemark"), "record", "-o", dir + "/t.tmk", "--", "/usr/bin/python3", "-c",
       "import os, time\nos.close(0)\nkept = open('" + dir +
           "/decoy.tmk', 'w')\nprint('ready', flush=True)\ntime.sleep(3)"},
      dir + "/log");
  waitForText(dir + "/log", "ready", 30);
  RunResult asked = run({tool("tidemark"), "snapshot", std::to_string(traced.pid())});
  INFO(asked.output);
  CHECK(asked.status == 0);
  CHECK(asked.output.find("snapshot 1 of ") != std::string::npos);
  CHECK(asked.output.find("decoy.tmk") == std::string::npos);
  CHECK(traced.wait(30) == 0);
}
