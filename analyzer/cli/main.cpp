// tidemark: record a program's heap, analyse the trace.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include "commands.h"

int main(int argc, char** argv) {
  using namespace tidemark::cli;
  CLI::App app{"tidemark: a memory leak and heap profiler for Linux programs"};
  app.require_subcommand(1);

  RecordArgs record;
  auto* recordCommand = app.add_subcommand(
      "record", "Run a command with the tracer; writes one trace per traced process");
  recordCommand->add_option("-o,--output", record.output,
                            "Trace file of the first process (others get default names beside it)");
  bool noFollowExec = false;
  recordCommand->add_flag("--no-follow-exec", noFollowExec,
                          "Stop tracing when the program execs another one");
  bool noSnapshotAtExit = false;
  recordCommand->add_flag("--no-snapshot-at-exit", noSnapshotAtExit,
                          "Do not take a heap-graph snapshot when the program exits");
  bool noSnapshots = false;
  recordCommand->add_flag("--no-snapshots", noSnapshots,
                          "No heap-graph snapshots at all (not at exit, not on request): the "
                          "tracer then keeps no table of live blocks, which costs less");
  bool noClearFreed = false;
  recordCommand->add_flag(
      "--no-clear-freed", noClearFreed,
      "Leave freed blocks as the allocator leaves them. By default, with snapshots, the "
      "tracer zeroes a freed block under 128 KiB before freeing it, so that a pointer left "
      "in memory the allocator hands out again uninitialized does not keep a lost block "
      "reachable (memcheck ignores such words); a program that reads a block after freeing "
      "it then reads zeros");
  recordCommand->add_flag(
      "--huge-pages", record.hugePages,
      "Let glibc malloc put its heaps on transparent huge pages (GLIBC_TUNABLES "
      "glibc.malloc.hugetlb=1): snapshots of big heaps pause the program far less, the "
      "program may keep more memory resident");
  auto* guardHeap = recordCommand->add_flag(
      "--guard-heap", record.guardHeap,
      "Every snapshot, of a small heap too, leaves the program's anonymous mappings of 256 "
      "KiB or more (its heap) out of the copy-on-write child and guards them with "
      "userfaultfd write protection instead: the pause no longer grows with the heap; the "
      "scan reads the heap from the program and takes longer. By default only snapshots "
      "whose copy would cost as much as 64 MiB of resident heap do, and they leave mappings "
      "less than a quarter resident (memory reserved, written here and there) to the copy "
      "while it copies little of them. Needs Linux 6.4 or later, and root, CAP_SYS_PTRACE "
      "or vm.unprivileged_userfaultfd=1 (else snapshots copy)");
  recordCommand
      ->add_flag("--copy-heap", record.copyHeap,
                 "No snapshot guards the heap: each copies all of the program's memory, with "
                 "a pause of about 20 ms per GB on 4 KiB pages")
      ->excludes(guardHeap);
  recordCommand->add_flag("--report", record.report,
                          "When the program ends, print the report of its trace on stderr (as "
                          "tidemark analyze would; the trace is read while the program runs; "
                          "after an exec, of the program run last)");
  recordCommand
      ->add_option("--fail-on", record.failOn,
                   "With the report (implies --report): exit with status 3 when the program "
                   "exited 0 but its last snapshot has leaks of this kind or worse: definite, "
                   "indirect (definite or indirect), possible (any lost); or failed, or tracing "
                   "stopped before its end (the trace could not be written), or the trace is "
                   "damaged partway (read up to the damage)")
      ->check(CLI::IsMember({"none", "definite", "indirect", "possible"}));
  std::string snapshotEvery;
  recordCommand->add_option("--snapshot-every", snapshotEvery,
                            "Take a heap-graph snapshot periodically, e.g. 500ms, 10s, 5m, 1h");
  recordCommand->add_option("command", record.command, "The command and its arguments (after --)")
      ->required();
  recordCommand->positionals_at_end();

  AnalyzeArgs analyze;
  auto* analyzeCommand = app.add_subcommand("analyze", "Print the report of a trace");
  analyzeCommand->add_option("trace", analyze.trace, "Trace file (.tmk)")->required();
  analyzeCommand->add_flag("--json", analyze.json, "JSON output (schema: docs/json.md)");
  analyzeCommand->add_option("--top", analyze.top,
                             "How many call stacks to list (default: 10 in text, all in JSON)");
  analyzeCommand
      ->add_option("--fail-on", analyze.failOn,
                   "Exit with status 3 when the last snapshot has leaks of this kind or worse: "
                   "definite, indirect (definite or indirect), possible (any lost); or failed, "
                   "or tracing stopped before the program's end (the trace could not be written), "
                   "or the trace is damaged partway (read up to the damage)")
      ->check(CLI::IsMember({"none", "definite", "indirect", "possible"}));

  CompareArgs compare;
  auto* compareCommand = app.add_subcommand(
      "compare", "What changed on the heap between two times of a run, per call stack");
  compareCommand->add_option("trace", compare.trace, "Trace file (.tmk)")->required();
  compareCommand
      ->add_option("--from", compare.from,
                   "Start time since the program started, e.g. 0, 500ms, 10s, 5m")
      ->required();
  compareCommand->add_option("--to", compare.to, "End time (default: the end of the trace)");
  compareCommand->add_flag("--json", compare.json, "JSON output (schema: docs/json.md)");
  compareCommand->add_option("--top", compare.top,
                             "How many call stacks to list (default: 10 in text, all in JSON)");

  SnapshotArgs snapshot;
  auto* snapshotCommand = app.add_subcommand(
      "snapshot",
      "Ask a traced process for a heap-graph snapshot (written into its trace) and print its "
      "leak classes once it is there");
  snapshotCommand
      ->add_option("pid", snapshot.pid,
                   "Process id (of the traced program, or of the tidemark record running it)")
      ->required();
  snapshotCommand->add_option(
      "--signal", snapshot.signal,
      "Signal number (default: the process's TIDEMARK_SNAPSHOT_SIGNAL, 40)");
  snapshotCommand
      ->add_option("--wait", snapshot.waitSeconds,
                   "Seconds to wait for the snapshot in the trace, then print its leak classes "
                   "(default 60; 0: only ask)")
      ->check(CLI::NonNegativeNumber);
  snapshotCommand->add_flag(
      "--json", snapshot.json,
      "Print the snapshot as JSON: {trace, snapshot} with snapshot as in analyze --json's "
      "snapshots[], or {trace, failed} as in its snapshots_failed[]");

  auto* viewCommand = app.add_subcommand(
      "view", "Open a trace in tidemark-view: tidemark view TRACE [tidemark-view options]");
  viewCommand->prefix_command();  // everything after `view` goes to tidemark-view

  CLI11_PARSE(app, argc, argv);
  auto runParsed = [&]() -> int {
    if (snapshotCommand->parsed()) return runSnapshot(snapshot);
    if (compareCommand->parsed()) return runCompare(compare);
    if (viewCommand->parsed()) return runView(viewCommand->remaining());
    if (recordCommand->parsed()) {
      record.followExec = !noFollowExec;
      record.snapshotAtExit = !noSnapshotAtExit && !noSnapshots;
      record.snapshots = !noSnapshots;
      record.clearFreed = !noClearFreed;
      record.report = record.report || record.failOn != "none";
      if (!snapshotEvery.empty()) {
        record.snapshotEveryMs = parseDurationMs(snapshotEvery);
        if (record.snapshotEveryMs == 0) {
          fprintf(stderr,
                  "tidemark: --snapshot-every: '%s' is not a duration like 500ms, 10s, 5m\n",
                  snapshotEvery.c_str());
          return 2;
        }
      }
      return runRecord(record);
    }
    return runAnalyze(analyze);
  };
  // A report is what these commands make: one cut short by a full disk must not pass for a
  // whole one (fmt throws when a write fails; printf only marks stdout, so check it).
  try {
    int status = runParsed();
    if (fflush(stdout) != 0 || ferror(stdout)) {
      throw std::system_error(errno, std::generic_category(), "cannot write the output");
    }
    return status;
  } catch (const std::system_error& error) {
    fprintf(stderr, "tidemark: %s\n", error.what());
    return 1;
  }
}
