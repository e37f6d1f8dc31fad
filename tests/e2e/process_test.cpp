// Traced processes that use threads, fork, exec, exceptions and signals, or end by
// abort, _exit, exit from another thread or SIGKILL.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace tidemark::e2e;

namespace {

nlohmann::json recordAndAnalyze(const std::string& dir, const std::vector<std::string>& program,
                                int expectedStatus) {
  std::string trace = dir + "/trace.tmk";
  std::vector<std::string> argv = {tool("tidemark"), "record", "-o", trace, "--"};
  argv.insert(argv.end(), program.begin(), program.end());
  RunResult r = run(argv);
  INFO(r.output);
  CHECK(r.status == expectedStatus);
  return analyze(trace);
}

}  // namespace

TEST_CASE("threads: a leak on each of four threads is found in full") {
  auto report = recordAndAnalyze(freshDir("threads"), {tool("test_threads")}, 0);
  Leak leak = leakedAt(report, "leakOnThread");
  CHECK(leak.blocks == 10);
  CHECK(leak.bytes == 1000 * 1 + 1001 * 2 + 1002 * 3 + 1003 * 4);
  CHECK(report["summary"]["allocations"].get<uint64_t>() >= 4 * 20000);
  CHECK(report["summary"]["dropped_events"] == 0);
  // The churn: 80,000 vectors and 80,000 element buffers, each from one call stack, all
  // freed again.
  int churnSites = 0;
  for (const auto& site : report["sites"]) {
    if (site["allocations"].get<uint64_t>() != 80000) continue;
    ++churnSites;
    CHECK(site["leaked_blocks"] == 0);
  }
  CHECK(churnSites == 2);
}

TEST_CASE("threads: blocks freed by another thread leave no phantom live blocks") {
  // The frees often reach the trace before their allocations (another ring). With
  // snapshots, each free says whose block it ends; without, the analyzer goes by rings.
  for (bool snapshots : {true, false}) {
    INFO("snapshots " << snapshots);
    std::string dir = freshDir(snapshots ? "handoff" : "handoff-no-snapshots");
    std::vector<std::string> argv{tool("tidemark"), "record", "-o", dir + "/t.tmk"};
    if (!snapshots) argv.push_back("--no-snapshots");
    argv.insert(argv.end(), {"--", tool("test_handoff")});
    RunResult r = run(argv);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("handoff: freed 200000") != std::string::npos);
    auto report = analyze(dir + "/t.tmk");
    Leak jobs = leakedAt(report, "makeJob");
    CHECK(jobs.sites == 1);
    CHECK(jobs.blocks == 0);
    CHECK(jobs.bytes == 0);
    // Each kept block took the address of the job freed just before, on the other ring.
    Leak kept = leakedAt(report, "keepOne");
    CHECK(kept.blocks == 2'000);
    CHECK(kept.bytes == 2'000 * 48);
  }
}

TEST_CASE("realloc of another thread's block: its old address reused at once is not ended") {
  // tests/programs/realloc_handoff.cpp: the owner of a block may get its address back
  // from malloc while another thread's realloc of it has yet to return. Ending the block
  // after realloc returned, the tracer ended the owner's new block there instead: the
  // moved block stayed "not freed", the new one went missing from snapshots.
  auto report = recordAndAnalyze(freshDir("realloc-handoff"), {tool("test_realloc_handoff")}, 0);
  CHECK(leakedAt(report, "handOff").blocks == 0);
  Leak kept = leakedAt(report, "keepOne");
  CHECK(kept.blocks == 100'000);
  CHECK(kept.bytes == 100'000 * 100);
  // The exit snapshot's tables hold exactly the blocks the replay says are not freed...
  Totals inSnapshot;
  for (const char* kind : {"definite", "indirect", "possible", "reachable"}) {
    inSnapshot.bytes += snapshotTotals(report, kind).bytes;
    inSnapshot.blocks += snapshotTotals(report, kind).blocks;
  }
  const auto& summary = report["summary"];
  CHECK(inSnapshot == Totals{summary["leaked_bytes"], summary["leaked_blocks"]});
  // ... and the dropped ones are lost (but for a stale copy of the last address, which a
  // stack slot may keep: 1 run in 9 kept one reachable).
  CHECK(groupTotals(report, "definite", "keepOne").blocks >= 99'990);
}

TEST_CASE("threads that allocate now and then keep little of their rings, and every event") {
  // The tracer's cost in memory is the difference from the same program untraced.
  auto peakRssKb = [](const std::string& output) {
    size_t at = output.find("peak rss KB ");
    return at == std::string::npos ? -1L : std::stol(output.substr(at + 12));
  };
  RunResult untraced = run({tool("test_quiet_threads")});
  REQUIRE(untraced.status == 0);
  std::string dir = freshDir("quiet-threads");
  RunResult traced =
      run({tool("tidemark"), "record", "-o", dir + "/t.tmk", "--", tool("test_quiet_threads")});
  INFO(untraced.output << traced.output);
  REQUIRE(traced.status == 0);
  REQUIRE(peakRssKb(untraced.output) > 0);
  // Each thread writes some 0.45 MiB of events to its ring, slowly: with every page of
  // them kept resident, the run took 12 MiB more than untraced (4.5 MiB now).
  CHECK(peakRssKb(traced.output) - peakRssKb(untraced.output) < 8 * 1024);
  // Nothing of what the rings held was lost when their pages went back.
  auto report = analyze(dir + "/t.tmk");
  CHECK(report["summary"]["dropped_events"] == 0);
  uint64_t allocations = 0;
  for (const auto& site : report["sites"]) {
    if (!site["stack"].empty() && site["stack"][0]["function"].get<std::string>().find(
                                      "allocateQuietly") != std::string::npos) {
      allocations += site["allocations"].get<uint64_t>();
    }
  }
  CHECK(allocations == 16 * 80000);
  Leak kept = leakedAt(report, "allocateQuietly");
  CHECK(kept.blocks == 16);
  CHECK(kept.bytes == 16 * 48);
}

TEST_CASE("fork: the child writes its own trace, naming its parent") {
  std::string dir = freshDir("fork");
  auto parent = recordAndAnalyze(dir, {tool("test_forker")}, 0);
  CHECK(leakedAt(parent, "parentLeak").bytes == 111);
  CHECK(leakedAt(parent, "childLeak").blocks == 0);
  auto traces = tracesIn(dir);
  REQUIRE(traces.size() == 2);
  std::string childTrace = traces[0] == dir + "/trace.tmk" ? traces[1] : traces[0];
  auto child = analyze(childTrace);
  CHECK(child["summary"]["parent_pid"] == parent["summary"]["pid"]);
  // Named after the program and the child's pid, beside the first trace.
  CHECK(childTrace == dir + "/tidemark.test_forker." +
                          std::to_string(child["summary"]["pid"].get<int>()) + ".tmk");
  CHECK(leakedAt(child, "childLeak").blocks == 2);
  CHECK(leakedAt(child, "childLeak").bytes == 444);
  CHECK(child["summary"]["complete"] == true);
  // The child's trace starts with the blocks it inherited: the parent's leak and holder,
  // with their stacks, live but not allocated by the child.
  CHECK(child["summary"]["inherited_blocks"].get<uint64_t>() >= 2);
  CHECK(leakedAt(child, "parentLeak").bytes == 111);
  CHECK(stackContains(child, "parentHolder", "main"));
  // Its snapshot sees through them: a block kept only by the inherited holder is
  // reachable; the inherited leak is as lost in the child as in the parent.
  REQUIRE(!child["snapshots"].empty());
  auto lostAt = [&](const char* function) {
    uint64_t bytes = 0;
    for (const auto& g : child["leaks"]) {
      if (g["kind"] == "definite" || g["kind"] == "indirect") {
        if (g["stack"][0]["function"].get<std::string>().find(function) != std::string::npos) {
          bytes += g["bytes"].get<uint64_t>();
        }
      }
    }
    return bytes;
  };
  CHECK(lostAt("keptByHolder") == 0);
  CHECK(lostAt("parentLeak") == 111);
  CHECK(lostAt("childLeak") == 444);
}

TEST_CASE("fork while other threads update their block tables: every child runs on") {
  // A child inherits the live-block tables; one that a thread (gone in the child) held
  // locked at the fork must not make the child's frees wait for that lock forever.
  std::string dir = freshDir("fork-churn");
  RunResult r = run({tool("tidemark"), "record", "--no-snapshot-at-exit", "-o", dir + "/t.tmk",
                     "--", tool("test_fork_churn")},
                    60);
  CHECK(r.status == 0);
  CHECK(r.output.find("fork_churn: 200 of 200 children exited 0") != std::string::npos);
  CHECK(tracesIn(dir).size() == 201);
}

TEST_CASE("exec that fails: the program goes on, traced to its end") {
  // tests/programs/forker.cpp exec-missing: the child's exec of a missing program fails
  // and it goes on. The tracer wrote the trace up to the exec with a trailer that says so;
  // it ended there for good until format 1.9, and what came after went unrecorded.
  std::string dir = freshDir("exec-missing");
  auto parent = recordAndAnalyze(dir, {tool("test_forker"), "exec-missing"}, 0);
  auto traces = tracesIn(dir);
  REQUIRE(traces.size() == 2);
  std::string childTrace = traces[0] == dir + "/t.tmk" ? traces[1] : traces[0];
  auto child = analyze(childTrace);
  CHECK(child["summary"]["complete"] == true);
  CHECK(child["summary"]["exit_reason"] == "exit");
  bool marked = false;
  for (const auto& m : child["marks"]) marked = marked || m["label"] == "exec failed";
  CHECK(marked);
  CHECK(groupTotals(child, "definite", "leakBeforeExec") == Totals{333, 1});
  CHECK(groupTotals(child, "definite", "leakAfterFailedExec") == Totals{444, 1});
  CHECK(leakedAt(child, "leakAfterFailedExec").blocks == 1);
}

TEST_CASE("exec: the program before exec and the program after are both traced") {
  std::string dir = freshDir("exec");
  auto parent = recordAndAnalyze(dir, {tool("test_forker"), "exec"}, 0);
  auto traces = tracesIn(dir);
  REQUIRE(traces.size() == 3);
  int execs = 0, shells = 0;
  for (const auto& path : traces) {
    if (path == dir + "/trace.tmk") continue;
    auto report = analyze(path);
    if (report["summary"]["exit_reason"] == "exec") {
      ++execs;
      CHECK(leakedAt(report, "leakBeforeExec").bytes == 333);
      CHECK(leakedAt(report, "childLeak").bytes == 444);
    } else {
      ++shells;
      CHECK(report["summary"]["executable"] == "/usr/bin/dash");
      CHECK(report["summary"]["complete"] == true);
    }
  }
  CHECK(execs == 1);
  CHECK(shells == 1);

  std::string quiet = freshDir("exec-no-follow");
  std::string trace = quiet + "/trace.tmk";
  RunResult r = run({tool("tidemark"), "record", "--no-follow-exec", "-o", trace, "--",
                     tool("test_forker"), "exec"});
  CHECK(r.status == 0);
  CHECK(tracesIn(quiet).size() == 2);
}

TEST_CASE("endings: abort, _exit and exit from a thread pass their status and finish the trace") {
  struct Case {
    const char* mode;
    int status;
    const char* reason;
  };
  for (Case c : {Case{"abort", 128 + SIGABRT, "abort"}, Case{"fast-exit", 7, "_exit"},
                 Case{"thread-exit", 9, "exit"}}) {
    INFO(c.mode);
    auto report = recordAndAnalyze(freshDir(c.mode), {tool("test_endings"), c.mode}, c.status);
    CHECK(report["summary"]["exit_reason"] == c.reason);
    CHECK(report["summary"]["complete"] == true);
    CHECK(leakedAt(report, "leakOne").bytes == 4321);
    CHECK(report["snapshots"].back()["trigger"] == "exit");
    CHECK(groupTotals(report, "definite", "leakOne") == Totals{4321, 1});
  }
}

TEST_CASE("endings: a raw exit_group, which the tracer cannot see, still ends the trace") {
  // No exit snapshot (the tracer never knew), but record saw the program end and ends
  // its trace for it, as _exit; what was written stays readable.
  auto report = recordAndAnalyze(freshDir("raw-exit"), {tool("test_endings"), "raw-exit"}, 6);
  CHECK(report["summary"]["exit_reason"] == "_exit");
  CHECK(report["summary"]["complete"] == true);
  CHECK(report["summary"]["truncated"] == false);
  CHECK(report["summary"]["end_written_by"] == "record");
  CHECK(leakedAt(report, "leakOne").bytes == 4321);
}

// `tidemark record [OPTIONS] -o DIR/trace.tmk -- test_endings MODE` once the program has
// printed `ready` (its output and record's go to DIR/log).
struct EndingsRun {
  std::unique_ptr<Background> record;
  pid_t program = 0;
};
EndingsRun startEndings(const std::string& dir, const std::string& mode, const std::string& ready,
                        const std::vector<std::string>& options = {}) {
  std::vector<std::string> argv = {tool("tidemark"), "record"};
  argv.insert(argv.end(), options.begin(), options.end());
  for (const std::string& arg :
       {std::string("-o"), dir + "/trace.tmk", std::string("--"), tool("test_endings"), mode}) {
    argv.push_back(arg);
  }
  EndingsRun run{std::make_unique<Background>(argv, dir + "/log")};
  waitForText(dir + "/log", ready);
  std::vector<pid_t> children = childrenOf(run.record->pid());
  REQUIRE(children.size() == 1);
  run.program = children[0];
  return run;
}

// Sends `signal` to `test_endings MODE` (see startEndings) and returns the report of its
// trace after checking record passed the death on (or the exit status of a program that
// handles the signal).
nlohmann::json signalledRun(const std::string& dir, const std::string& mode, int signal,
                            const std::string& ready, std::string* output = nullptr,
                            int status = -1) {
  EndingsRun run = startEndings(dir, mode, ready);
  usleep(100'000);  // churn: until the live-block table is full
  kill(run.program, signal);
  CHECK(run.record->wait(30) == (status >= 0 ? status : 128 + signal));
  if (output) *output = readFile(dir + "/log");
  return analyze(dir + "/trace.tmk");
}

TEST_CASE("a signal's default action ends the trace as exit does: exit snapshot, then death") {
  struct Case {
    const char* mode;
    int signal;
    const char* ready;
    const char* reason;
  };
  // wait: the tracer's own handler (for SIGHUP set again when the program sets the default
  // action); reraise: the program's, which raises the signal again
  // (Node.js); churn, three times over: a signal that often lands while the tracer updates
  // a live-block table (without waiting for it to leave the tracer, 6 exit snapshots of 8
  // came out incomplete).
  for (Case c :
       {Case{"wait", SIGTERM, "waiting", "SIGTERM"}, Case{"wait", SIGINT, "waiting", "SIGINT"},
        Case{"wait", SIGHUP, "waiting", "SIGHUP"}, Case{"reraise", SIGINT, "waiting", "SIGINT"},
        Case{"reraise", SIGTERM, "waiting", "SIGTERM"},
        Case{"churn", SIGTERM, "churning", "SIGTERM"},
        Case{"churn", SIGTERM, "churning", "SIGTERM"},
        Case{"churn", SIGTERM, "churning", "SIGTERM"}}) {
    INFO(c.mode << " " << c.reason);
    std::string output;
    auto report =
        signalledRun(freshDir(std::string("signal-") + c.mode), c.mode, c.signal, c.ready, &output);
    CHECK(report["summary"]["exit_reason"] == c.reason);
    CHECK(report["summary"]["complete"] == true);
    REQUIRE(!report["snapshots"].empty());
    CHECK(report["snapshots"].back()["trigger"] == "exit");
    CHECK(report["snapshots"].back()["complete"] == true);
    CHECK(groupTotals(report, "definite", "leakOne") == Totals{4321, 1});
    if (std::string(c.mode) == "wait") {  // the tracer's handlers read as the default
      CHECK(output.find("SIGTERM action: default") != std::string::npos);
      CHECK(output.find("signal(SIGHUP) was: default") != std::string::npos);
    }
  }
  auto crashed =
      recordAndAnalyze(freshDir("signal-segv"), {tool("test_endings"), "segv"}, 128 + SIGSEGV);
  CHECK(crashed["summary"]["exit_reason"] == "SIGSEGV");
  CHECK(crashed["snapshots"].back()["trigger"] == "exit");
  CHECK(groupTotals(crashed, "definite", "leakOne") == Totals{4321, 1});
  CHECK(groupTotals(crashed, "definite", "leakSprayed") == Totals{1234, 1});
}

TEST_CASE("a SIGTERM handler that calls exit() mid-hook: the exit snapshot is still complete") {
  // test_endings exit-handler churns allocations with a SIGTERM handler that calls
  // exit(0), as many C daemons have. Run where the signal landed, in a hook half way
  // through a live-table update, the handler's exit made the exit snapshot wait 500 ms
  // for that thread and come out incomplete (6 runs of 8); the tracer now runs it once
  // the thread has left the hook (preload/program_signals.h). Three times over.
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    auto report =
        signalledRun(freshDir("exit-handler"), "exit-handler", SIGTERM, "churning", nullptr, 0);
    CHECK(report["summary"]["exit_reason"] == "exit");
    REQUIRE(!report["snapshots"].empty());
    CHECK(report["snapshots"].back()["trigger"] == "exit");
    CHECK(report["snapshots"].back()["complete"] == true);
    CHECK(report["snapshots"].back()["pause_ms"].get<double>() < 400);
    CHECK(groupTotals(report, "definite", "leakOne") == Totals{4321, 1});
  }
}

TEST_CASE("threads that run on while the trace ends: the exit snapshot sees their frees") {
  // test_endings exit-freeing: main calls exit(0) while a second thread frees a million
  // blocks one by one. Hooks stopped recording the moment the trace began to end,
  // so the blocks freed before the exit snapshot's stop stayed in the live tables and came
  // out definitely lost (as node's worker threads' did when a SIGTERM ended it under load).
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    auto report =
        recordAndAnalyze(freshDir("exit-freeing"), {tool("test_endings"), "exit-freeing"}, 0);
    CHECK(report["summary"]["exit_reason"] == "exit");
    REQUIRE(!report["snapshots"].empty());
    CHECK(report["snapshots"].back()["trigger"] == "exit");
    CHECK(report["snapshots"].back()["complete"] == true);
    CHECK(snapshotTotals(report, "definite") == Totals{4321, 1});
    CHECK(snapshotTotals(report, "indirect") == Totals{0, 0});
  }
}

TEST_CASE("a main thread that leaves by pthread_exit: the program ends with its last thread") {
  // tests/programs/main_thread_exit.cpp: glibc calls exit(0) when the last thread it made
  // ends; the tracer's writer is one, so the program ran on for ever, and with the main
  // thread gone /proc/self no longer showed its memory (RSS 0, no mappings to snapshot).
  std::string dir = freshDir("main-thread-exit");
  RunResult r = run({tool("tidemark"), "record", "--snapshot-every", "20ms", "-o", dir + "/t.tmk",
                     "--", tool("test_main_thread_exit")},
                    30);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("worker done") != std::string::npos);
  auto report = analyze(dir + "/t.tmk");
  CHECK(report["summary"]["complete"] == true);
  CHECK(report["summary"]["exit_reason"] == "exit");
  CHECK(report["summary"]["peak_rss_bytes"].get<uint64_t>() > 0);
  REQUIRE(report["snapshots"].size() >= 2);  // some while only the second thread ran
  for (const auto& s : report["snapshots"]) CHECK(s["complete"] == true);
  CHECK(report["snapshots"].back()["trigger"] == "exit");
  CHECK(snapshotTotals(report, "definite") == Totals{4321 + 1234, 2});
  CHECK(groupTotals(report, "definite", "leakOnMain") == Totals{4321, 1});
  CHECK(groupTotals(report, "definite", "leakOnWorker") == Totals{1234, 1});
  // Freed by an atexit handler, on the thread that ended the program: recorded.
  CHECK(leakedAt(report, "keepForExit").blocks == 0);
}

TEST_CASE("the program's signal handlers see what they would see untraced") {
  // tests/programs/handlers.cpp: its actions read back as it set them, SA_RESETHAND acts
  // once, siginterrupt holds for a later signal(), a vfork child's signal() leaves the
  // parent's handler alone, 20,000 queued
  // signals, many of them held while their thread was in a hook, arrive each with its own
  // siginfo, and a SIGABRT handler runs on glibc's abort inside free.
  for (bool traced : {false, true}) {
    INFO((traced ? "traced" : "untraced"));
    std::string dir = freshDir("handlers");
    std::vector<std::string> argv{tool("test_handlers")};
    if (traced)
      argv = {tool("tidemark"), "record", "-o", dir + "/t.tmk", "--", tool("test_handlers")};
    RunResult r = run(argv);
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("actions read back: ok") != std::string::npos);
    CHECK(r.output.find("resethand: ok") != std::string::npos);
    CHECK(r.output.find("siginterrupt: ok") != std::string::npos);
    CHECK(r.output.find("queued 5000: ok") != std::string::npos);
    // glibc's abort on a double free, raised inside the allocator, runs the program's
    // SIGABRT handler there and then (held until free returned, the process died first).
    argv.push_back("heap-abort");
    RunResult aborted = run(argv);
    INFO(aborted.output);
    CHECK(aborted.status == 0);
    CHECK(aborted.output.find("abort handler ran") != std::string::npos);
  }
}

TEST_CASE("exceptions and allocations in signal handlers still work under the tracer") {
  auto thrown = recordAndAnalyze(freshDir("throw"), {tool("test_endings"), "throw"}, 0);
  CHECK(thrown["summary"]["allocations"].get<uint64_t>() >= 10000);
  auto signals = recordAndAnalyze(freshDir("signal"), {tool("test_endings"), "signal"}, 0);
  CHECK(signals["summary"]["allocations"].get<uint64_t>() >= 2000);
  CHECK(leakedAt(signals, "leakOne").bytes == 4321);
}

TEST_CASE("operator new out of memory: new-handler, bad_alloc and nullptr as untraced") {
  // tests/programs/new_failure.cpp: every form of operator new asked for more than malloc
  // gives, with a new-handler that gives up on its second call. The tracer has no C++
  // runtime of its own: the program's throws and catches.
  std::string dir = freshDir("new-failure");
  RunResult plain = run({tool("test_new_failure")});
  REQUIRE(plain.status == 0);
  for (const char* form : {"new", "new[]", "new aligned", "new[] aligned"}) {
    CHECK(plain.output.find(std::string(form) + ": bad_alloc, new-handler called 2 times\n") !=
          std::string::npos);
  }
  for (const char* form :
       {"new nothrow", "new[] nothrow", "new aligned nothrow", "new[] aligned nothrow"}) {
    CHECK(plain.output.find(std::string(form) + ": nullptr, new-handler called 2 times\n") !=
          std::string::npos);
  }
  RunResult traced =
      run({tool("tidemark"), "record", "-o", dir + "/t.tmk", "--", tool("test_new_failure")});
  CHECK(traced.status == 0);
  CHECK(traced.output == plain.output + "tidemark: wrote " + dir + "/t.tmk\n");
  auto report = analyze(dir + "/t.tmk");
  CHECK(groupTotals(report, "definite", "loseNothrowBlocks") == Totals{176, 2});
}

TEST_CASE("a C program that loads a C++ library gets its bad_alloc, traced as untraced") {
  // tests/programs/cxx_loader.c has no C++ runtime until it dlopens cxx_plugin.cpp's
  // library, whose operator new (the tracer's) must then throw through that runtime.
  std::vector<std::string> program{tool("test_cxx_loader"), tool("libtest_cxx_plugin.so")};
  RunResult plain = run(program);
  CHECK(plain.status == 0);
  CHECK(plain.output == "cxx_loader: bad_alloc caught\n");
  std::string dir = freshDir("cxx-loader");
  std::vector<std::string> traced{tool("tidemark"), "record", "-o", dir + "/t.tmk", "--"};
  traced.insert(traced.end(), program.begin(), program.end());
  RunResult r = run(traced);
  CHECK(r.status == 0);
  CHECK(r.output == plain.output + "tidemark: wrote " + dir + "/t.tmk\n");
}

TEST_CASE("a C program traced does not load libstdc++") {
  // The tracer links nothing of it: loaded for the tracer alone, its constructor's
  // emergency pool would be a 72,704-byte block the program never asked for.
  // Without -o, the trace is named after the program, as libc names it once its own
  // constructor ran (the tracer's runs first).
  std::string dir = freshDir("no-libstdcxx");
  RunResult r =
      run({"env", "-C", dir, tool("tidemark"), "record", "--", "/bin/cat", "/proc/self/maps"});
  REQUIRE(r.status == 0);
  CHECK(r.output.find("libtidemark_preload.so") != std::string::npos);
  CHECK(r.output.find("libstdc++") == std::string::npos);
  auto traces = tracesIn(dir);
  REQUIRE(traces.size() == 1);
  CHECK(traces[0].rfind(dir + "/tidemark.cat.", 0) == 0);
}

TEST_CASE("SIGKILL: record ends the trace at its last whole chunk, with how the program ended") {
  // The tracer cannot see SIGKILL (the out-of-memory killer's signal); tidemark record,
  // which waited for the program, cuts off the chunk the tracer had begun and ends the
  // trace with a trailer of its own.
  std::string dir = freshDir("kill");
  std::string trace = dir + "/trace.tmk";
  EndingsRun endings = startEndings(dir, "spin", "spinning");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // some chunks get written
  kill(endings.program, SIGKILL);
  CHECK(endings.record->wait(30) == 128 + SIGKILL);
  REQUIRE(tracesIn(dir) == std::vector<std::string>{trace});
  auto report = analyze(trace);
  CHECK(report["summary"]["complete"] == true);
  CHECK(report["summary"]["truncated"] == false);
  CHECK(report["summary"]["exit_reason"] == "SIGKILL");
  CHECK(report["summary"]["end_written_by"] == "record");
  CHECK(report["summary"]["duration_s"].get<double>() >= 0.8);
  CHECK(report["summary"]["allocations"].get<uint64_t>() > 1000);
  CHECK(leakedAt(report, "leakOne").bytes == 4321);
  RunResult text = run({tool("tidemark"), "analyze", trace});
  CHECK(text.output.find("ended by SIGKILL (seen by tidemark record") != std::string::npos);
  CHECK(text.output.find("ends inside a chunk") == std::string::npos);
}

TEST_CASE("a snapshot's child ends when the program dies before reading all it wrote") {
  // The program is stopped while its exit snapshot's child writes (the pipe between them
  // fills), then killed. The child must see its writes fail and end, not wait forever
  // holding a copy of the program's memory; with --guard-heap, the helper that guards the
  // heap for the child (and would wait a minute for it to say it is done) must end too.
  for (bool guarded : {false, true}) {
    INFO("guarded " << guarded);
    std::string dir = freshDir(guarded ? "orphan-guarded" : "orphan");
    Background record(recordArgv(dir + "/t.tmk", guarded, {tool("snapshot_bench"), "50", "64"}),
                      dir + "/log");
    pid_t program = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!program && std::chrono::steady_clock::now() < deadline) {
      auto children = childrenOf(record.pid());
      if (!children.empty()) program = children[0];
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(program != 0);
    // The exit snapshot's child scans 820k blocks: long enough to stop the program meanwhile,
    // once its helper let the threads go (milliseconds).
    pid_t scanner = snapshotProcess(program, "tidemark-scan", 60);
    REQUIRE(scanner != 0);
    pid_t helper = guarded ? snapshotProcess(program, "tidemark-stop", 1) : 0;
    CHECK(guarded == (helper != 0));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    kill(program, SIGSTOP);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill(program, SIGKILL);
    CHECK(record.wait(30) == 128 + SIGKILL);
    for (pid_t process : {scanner, helper}) {
      if (!process) continue;
      INFO("process " << readFile("/proc/" + std::to_string(process) + "/comm"));
      bool ended = false;  // gone, or a zombie
      for (int i = 0; i < 500 && !ended; ++i) {
        std::string stat = readFile("/proc/" + std::to_string(process) + "/stat");
        ended = stat.empty() || stat.find(") Z ") != std::string::npos;
        if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      CHECK(ended);
      if (!ended) kill(process, SIGKILL);
    }
  }
}

TEST_CASE("a full disk stops tracing, not the program, and the trace keeps its whole chunks") {
  // RLIMIT_FSIZE makes the trace's writes fail with EFBIG past 8 MiB, as a full disk
  // would with ENOSPC: after a few chunks of the 25 MB this trace would take. (Past 256
  // KiB, the first chunk of events alone was too big once the tracer started faster.)
  // The tracer cuts the chunk it could not finish off the file, and ends it with a
  // trailer that says why.
  std::string dir = freshDir("full-disk");
  std::string trace = dir + "/trace.tmk";
  RunResult r = run({"prlimit", "--fsize=8388608", "--", tool("tidemark"), "record", "-o", trace,
                     "--", tool("alloc_bench"), "--ops", "3000000"});
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("alloc_bench: 3000000 allocation calls") != std::string::npos);
  CHECK(r.output.find("tracing stopped, the trace ends at its last whole chunk") !=
        std::string::npos);
  auto report = analyze(trace);
  CHECK(report["summary"]["truncated"] == false);
  CHECK(report["summary"]["complete"] == false);
  CHECK(report["summary"]["tracing_stopped"] == "File too large");
  CHECK(report["summary"]["allocations"].get<uint64_t>() > 1000);
  CHECK(std::filesystem::file_size(trace) < 8388608);
  RunResult text = run({tool("tidemark"), "analyze", trace});
  CHECK(text.output.find("then tracing stopped: the trace could not be written (File too large)") !=
        std::string::npos);
  CHECK(text.output.find("ran on untraced") != std::string::npos);
  // Nothing definitely lost in what the trace holds, but its end is missing: a CI gate
  // must not pass for want of it.
  RunResult gate = run({tool("tidemark"), "analyze", "--fail-on", "definite", trace});
  CHECK(gate.status == 3);
  CHECK(gate.output.find("before the program ended (the trace could not be written: File too "
                         "large)") != std::string::npos);
}

TEST_CASE("a daemon's own file on descriptor 2 never gets the tracer's messages") {
  // test_fd_closer stderr: the program makes its file its stderr, then writes more than
  // the trace may hold (RLIMIT_FSIZE, as in the test above). The tracer's message, which
  // has nowhere to go then, must not go into that file; the trace says why it ends.
  std::string dir = freshDir("stderr-taken");
  std::string file = dir + "/own.txt";
  RunResult r = run({"prlimit", "--fsize=8388608", "--", tool("tidemark"), "record", "-o",
                     dir + "/trace.tmk", "--", tool("test_fd_closer"), "stderr", file});
  INFO(r.output);
  CHECK(r.status == 0);
  std::string own = readFile(file);
  CHECK(own.find("line 999\n") != std::string::npos);
  CHECK(own.find("tidemark") == std::string::npos);
  CHECK(analyze(dir + "/trace.tmk")["summary"]["tracing_stopped"] == "File too large");
}

TEST_CASE("a report written to a full disk is an error, not a success") {
  std::string dir = freshDir("full-disk-report");
  std::string trace = dir + "/trace.tmk";
  REQUIRE(run({tool("tidemark"), "record", "-o", trace, "--", tool("test_leak_kinds")}).status ==
          0);
  // /dev/full fails every write with ENOSPC.
  for (std::string command : {"analyze", "analyze --json", "compare --from 0 --json"}) {
    RunResult r = run(
        {"sh", "-c", "exec " + tool("tidemark") + " " + command + " " + trace + " > /dev/full"});
    INFO(command << ": " << r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find("No space left on device") != std::string::npos);
  }
}

TEST_CASE("a trace damaged in the middle is reported up to the damage, and the gate fails") {
  // A bit flipped on disk in a long run's trace: the chunks before it are the run up to
  // there, and the report says where reading stopped instead of giving up on the file.
  std::string dir = freshDir("damaged");
  std::string trace = dir + "/trace.tmk";
  REQUIRE(
      run({tool("tidemark"), "record", "-o", trace, "--", tool("alloc_bench"), "--ops", "300000"})
          .status == 0);
  auto grouped = [](uint64_t value) {  // as the text report writes numbers
    std::string digits = std::to_string(value), out;
    for (size_t i = 0; i < digits.size(); ++i) {
      if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
      out += digits[i];
    }
    return out;
  };
  uint64_t damaged = damageChunk(trace, 2);
  uint64_t size = std::filesystem::file_size(trace);

  auto report = analyze(trace);
  CHECK(report["summary"]["corrupt_at_byte"] == damaged);
  CHECK(report["summary"]["corruption"].get<std::string>().find("chunk does not decompress") !=
        std::string::npos);
  CHECK(report["summary"]["truncated"] == false);
  CHECK(report["summary"]["complete"] == false);
  CHECK(report["summary"]["allocations"].get<uint64_t>() > 1000);  // the first two chunks
  RunResult text = run({tool("tidemark"), "analyze", trace});
  CHECK(text.status == 0);
  CHECK(text.output.find("unreadable   from byte " + grouped(damaged) + " of " + grouped(size) +
                         ": corrupt trace: chunk does not decompress") != std::string::npos);
  CHECK(text.output.find("analysed up to there") != std::string::npos);
  RunResult gate = run({tool("tidemark"), "analyze", "--fail-on", "definite", trace});
  CHECK(gate.status == 3);
  CHECK(gate.output.find("the trace is unreadable from byte " + std::to_string(damaged)) !=
        std::string::npos);

  // Damage in the first chunk leaves nothing to report: an error, as before.
  damageChunk(trace, 0);
  RunResult first = run({tool("tidemark"), "analyze", trace});
  CHECK(first.status == 1);
  CHECK(first.output.find("chunk does not decompress") != std::string::npos);
}

TEST_CASE("a child forked while its parent ends by a signal still dies of its own") {
  std::string dir = freshDir("fork-ending");
  EndingsRun run = startEndings(dir, "fork-ending", "waiting");
  kill(run.program, SIGUSR1);
  waitForText(dir + "/log", "forking");  // SIGTERM with it would be handled first
  kill(run.program, SIGTERM);
  CHECK(run.record->wait(60) == 128 + SIGTERM);
  usleep(500'000);  // the last children raise theirs 200 ms after they were forked
  std::string log = readFile(dir + "/log");
  INFO(log.substr(0, 2000));
  CHECK(log.find("survived") == std::string::npos);
  CHECK(analyze(dir + "/trace.tmk")["summary"]["exit_reason"] == "SIGTERM");
}

TEST_CASE("record passes SIGTERM on to the program, and a kill of both ends the trace once") {
  // To record alone (as `timeout` sends it), and to the process group: then the program
  // gets it twice, from the kill and from record.
  for (bool group : {false, true}) {
    for (const char* mode : {"wait", "reraise"}) {
      INFO(mode << (group ? ", group" : ", record"));
      std::string dir = freshDir(std::string("forward-") + mode);
      EndingsRun run = startEndings(dir, mode, "waiting", {"--report"});
      kill(group ? -run.record->pid() : run.record->pid(), SIGTERM);
      CHECK(run.record->wait(30) == 128 + SIGTERM);
      std::string log = readFile(dir + "/log");
      CHECK(log.find("ended by SIGTERM") != std::string::npos);
      CHECK(log.find("tidemark: " + tool("test_endings") + " was ended by SIGTERM (status 143)") !=
            std::string::npos);
      CHECK(log.find("definitely lost    4,321 bytes in 1 blocks") != std::string::npos);
    }
  }
}

TEST_CASE("a SIGTERM sent to record alone or to its process group reaches the program once") {
  // test_endings graceful counts the SIGTERMs its handler gets for 1 s from the first, as
  // a server shutting down would (a second one often forces the exit). Sent to the
  // process group (as `timeout` and systemd do), the program got it from the sender and
  // again from record, which passes it on for the case where record alone gets it. With
  // SA_RESETHAND (graceful-once) that second one ended the program.
  for (const std::string mode : {"graceful", "graceful-once"}) {
    for (bool group : {false, true}) {
      INFO(mode << (group ? ", group" : ", record alone"));
      std::string dir = freshDir(mode + (group ? "-group" : "-record"));
      EndingsRun run = startEndings(dir, mode, "waiting");
      kill(group ? -run.record->pid() : run.record->pid(), SIGTERM);
      CHECK(run.record->wait(30) == 0);
      std::string log = readFile(dir + "/log");
      INFO(log);
      CHECK(log.find("SIGTERM handled 1 times") != std::string::npos);
    }
  }
}

TEST_CASE("a daemon that closes or takes over every descriptor keeps its trace, and its files") {
  // tests/programs/fd_closer.cpp closes every descriptor from 3 up, or makes them all a
  // file of its own, then writes 1,000 lines there while it allocates. The trace's
  // descriptor was among them: tracing stopped, and its chunks could land in the file.
  for (const std::string mode : {"close", "replace"}) {
    INFO(mode);
    std::string dir = freshDir("fd-" + mode);
    RunResult r = run({tool("tidemark"), "record", "-o", dir + "/t.tmk", "--",
                       tool("test_fd_closer"), mode, dir + "/own.log"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("cannot write the trace") == std::string::npos);
    std::string expected;
    for (int i = 0; i < 1000; ++i) expected += "line " + std::to_string(i) + "\n";
    CHECK(readFile(dir + "/own.log") == expected);
    auto report = analyze(dir + "/t.tmk");
    CHECK(report["summary"]["complete"] == true);
    CHECK(report["summary"]["allocations"].get<uint64_t>() >= 1002);
    CHECK(groupTotals(report, "definite", "loseBlocks") == Totals{1554, 2});
  }
}

TEST_CASE("record killed: its program gets SIGTERM and finishes its trace") {
  std::string dir = freshDir("record-killed");
  EndingsRun run = startEndings(dir, "wait", "waiting");
  kill(run.record->pid(), SIGKILL);
  CHECK(run.record->wait(30) == 128 + SIGKILL);
  // The program, now nobody's child here, ends within moments (a zombie until whoever
  // adopted it reaps it).
  auto ended = [&] {
    std::string stat = readFile("/proc/" + std::to_string(run.program) + "/stat");
    return stat.empty() || stat.find(") Z ") != std::string::npos;
  };
  for (int i = 0; i < 300 && !ended(); ++i) usleep(10'000);
  CHECK(ended());
  if (!ended()) kill(run.program, SIGKILL);  // not left behind when this fails
  auto report = analyze(dir + "/trace.tmk");
  CHECK(report["summary"]["exit_reason"] == "SIGTERM");
  CHECK(report["snapshots"].back()["trigger"] == "exit");
  CHECK(groupTotals(report, "definite", "leakOne") == Totals{4321, 1});
}

TEST_CASE("record refuses an -o it would destroy or cannot write, before running the program") {
  std::string dir = freshDir("bad-output");
  std::string ran = dir + "/ran";
  REQUIRE(run({"mkfifo", dir + "/fifo"}).status == 0);
  for (const std::string& output : {dir + "/fifo", dir}) {
    RunResult r = run({tool("tidemark"), "record", "-o", output, "--", "touch", ran});
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find("exists and is not a file, not replacing it") != std::string::npos);
  }
  CHECK(std::filesystem::is_fifo(dir + "/fifo"));
  CHECK(std::filesystem::is_directory(dir));
  RunResult r = run({tool("tidemark"), "record", "-o", dir + "/missing/t.tmk", "--", "touch", ran});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("cannot write traces in " + dir + "/missing: No such file or directory") !=
        std::string::npos);
  CHECK(!std::filesystem::exists(ran));
}

TEST_CASE("record says why a statically linked program, or its script, left no trace") {
  std::string dir = freshDir("static-program");
  std::string script = dir + "/script";
  REQUIRE(run({"sh", "-c",
               "printf '#!" + tool("test_static_program") + "\\n' > " + script + " && chmod +x " +
                   script})
              .status == 0);
  std::string why = tool("test_static_program") +
                    " is statically linked: LD_PRELOAD reaches only programs that the "
                    "dynamic loader starts";
  RunResult direct = run({tool("tidemark"), "record", "--", tool("test_static_program")});
  INFO(direct.output);
  CHECK(direct.status == 0);
  CHECK(direct.output.find("static program ran") != std::string::npos);
  CHECK(direct.output.find("tidemark: no trace was written: " + why) != std::string::npos);
  RunResult viaScript = run({tool("tidemark"), "record", "--", script});
  INFO(viaScript.output);
  CHECK(viaScript.output.find(why + " (the interpreter of " + script + ")") != std::string::npos);
}

TEST_CASE("dlopen: a leak inside a plugin that was closed is named from its module") {
  auto report =
      recordAndAnalyze(freshDir("dlopen"), {tool("test_dlopener"), tool("libtest_plugin.so")}, 0);
  Leak leak = leakedAt(report, "plugin_leak");
  CHECK(leak.blocks == 2);
  CHECK(leak.bytes == 1554);
  // ld.so's tables for _dl_find_object, cache-line aligned inside their blocks, are no
  // leak: the plugin's two blocks are all that is lost (checked by totals, which need no
  // debug information to name ld.so's frames).
  CHECK(snapshotTotals(report, "definite") == Totals{1554, 2});
  CHECK(snapshotTotals(report, "possible") == Totals{});
  bool named = false;
  for (const auto& site : report["sites"]) {
    const auto& top = site["stack"][0];
    if (top["function"] == "plugin_leak") {
      named = top["file"].get<std::string>().find("plugin.cpp") != std::string::npos &&
              top["module"] == tool("libtest_plugin.so");
    }
  }
  CHECK(named);
}
