#!/usr/bin/env bash
# Heap-graph snapshot cost: pause seen by the program and scan throughput of the child for
# heaps of 100 MB, 1 GB and 4 GB (the exit snapshot: copied on 4 KiB pages and on huge
# pages, --copy-heap, and guarded, --guard-heap), next to what the kernel alone charges to copy,
# write-protect or track the writes to that much memory on 4 KiB pages (page_table_floor);
# the scan of memory reserved read-write and never written, and written in scattered pages;
# what periodic snapshots cost a program that writes its heap, copied, by default and guarded;
# node's periodic pauses (V8's heap), copied and by default;
# the cost of many small blocks against heaptrack (the tracer's live-block table and the
# exit snapshot); the time to a leak report for the sample server and the Node.js sample
# server under load, alloc_bench and a python3 workload, tidemark (record --report, and
# record then analyze) against valgrind --leak-check=full.
#   bench/run_snapshots.sh [BUILD_DIR] [REQUESTS]
set -uo pipefail
build=$(cd "${1:-build}" && pwd)
requests=${2:-20000}
bin="$build/bin"
work=$(mktemp -d /tmp/tidemark-snapbench-XXXXXX)
trap 'rm -rf "$work"' EXIT

elapsed() { awk "BEGIN{print $(date +%s.%N) - $1}"; }  # seconds since a date +%s.%N

printf "%-8s %-12s %10s %10s %12s %12s\n" heap pages pause_ms scan_ms "scan GB/s" "pause ms/GB"
for mb in 100 1024 4096; do
  for pages in 4k huge 4k-guarded; do
    option=(--copy-heap)
    [ "$pages" = huge ] && option=(--copy-heap --huge-pages)
    [ "$pages" = 4k-guarded ] && option=(--guard-heap)
    "$bin/tidemark" record "${option[@]}" -o "$work/h$mb.tmk" -- "$bin/snapshot_bench" "$mb" \
      > /dev/null 2>&1
    "$bin/tidemark" analyze --json --top 1 "$work/h$mb.tmk" > "$work/h$mb.json"
    python3 - "$work/h$mb.json" "$mb" "$pages" << 'PY'
import json, sys
snap = json.load(open(sys.argv[1]))["snapshots"][-1]
gb = int(sys.argv[2]) / 1024
print(f"{sys.argv[2] + ' MB':<8} {sys.argv[3]:<12} {snap['pause_ms']:10.1f} {snap['scan_ms']:10.1f} "
      f"{gb / (snap['scan_ms'] / 1000):12.2f} {snap['pause_ms'] / gb:12.1f}")
PY
  done
  echo "  kernel floor for $mb MB of 4 KiB pages, untraced:"
  "$bin/page_table_floor" "$mb" | sed 's/^/    /'
done

# exit_snapshot LABEL ARGS...: snapshot_bench ARGS recorded; its exit snapshot's costs.
exit_snapshot() {
  local label=$1
  shift
  "$bin/tidemark" record -o "$work/r.tmk" -- "$bin/snapshot_bench" "$@" > /dev/null 2>&1
  "$bin/tidemark" analyze --json --top 1 "$work/r.tmk" > "$work/r.json"
  python3 - "$work/r.json" "$label" << 'PY'
import json, sys
s = json.load(open(sys.argv[1]))["snapshots"][-1]
print(f"  {sys.argv[2]}: exit snapshot pause {s['pause_ms']:.1f} ms, scan {s['scan_ms']:.0f} ms,"
      f" guarded {s['guarded']}, definitely lost {s['blocks']['definite']}")
PY
}

echo
echo "reserved, never written: snapshot_bench 100 0 GB (a 100 MB heap beside GB of read-write memory)"
for gb in 0 16 64; do
  exit_snapshot "$(printf '%3s GB reserved' "$gb")" 100 0 "$gb"
done

echo
echo "reserved and written in scattered pages: snapshot_bench 100 0 64 PAGES (a 100 MB heap beside"
echo "64 GB of read-write memory with PAGES pages written, evenly spread: each its own page table)"
for pages in 1024 8192 16384; do
  exit_snapshot "$(printf '%6s pages written' "$pages")" 100 0 64 "$pages"
done

echo
echo "a program writing random words of its 1 GB heap, a snapshot every second (write_bench 1024 6)"
echo "(default: guarded, 1 GB being over the 64 MiB from which a heap is)"
printf "  %-10s %s\n" untraced "$("$bin/write_bench" 1024 6)"
for mode in copied default guarded; do
  option=()
  [ "$mode" = copied ] && option=(--copy-heap)
  [ "$mode" = guarded ] && option=(--guard-heap)
  printf "  %-10s %s\n" "$mode" "$("$bin/tidemark" record "${option[@]}" --snapshot-every 1s \
    -o "$work/w.tmk" -- "$bin/write_bench" 1024 6 2> /dev/null)"
  "$bin/tidemark" analyze "$work/w.tmk" | grep -m1 "snapshots " | sed 's/^ */             /'
done

echo
echo "node samples/node/big_heap.js (V8's heap: ~1,700 DONTFORK pages of 256 KiB), a snapshot every second"
for mode in copied default; do
  option=()
  [ "$mode" = copied ] && option=(--copy-heap)
  "$bin/tidemark" record "${option[@]}" --snapshot-every 1s -o "$work/n.tmk" -- \
    node "$(dirname "$0")/../samples/node/big_heap.js" > /dev/null 2>&1
  "$bin/tidemark" analyze --json --top 1 "$work/n.tmk" > "$work/n.json"
  python3 - "$work/n.json" "$mode" << 'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rss_gb = report["summary"]["peak_rss_bytes"] / 2**30
for s in report["snapshots"]:
    if s["trigger"] != "periodic":
        continue
    kind = "guarded" if s["guarded"] else "copied"
    print(f"  {sys.argv[2]:<8} {kind:<8} pause {s['pause_ms']:5.1f} ms ({s['pause_ms'] / rss_gb:4.1f} ms per GB"
          f" of peak RSS {rss_gb:.2f} GB), scan {s['scan_ms']:6.0f} ms, complete {s['complete']},"
          f" definitely lost {s['blocks']['definite']}")
PY
done

echo
echo "many small blocks: snapshot_bench 512 64 (8.4M blocks of 64 bytes, exit snapshot included)"
small=("$bin/snapshot_bench" 512 64)
measure() {  # measure LABEL CMD...: wall time and the peak RSS of its largest process
  local label=$1
  shift
  /usr/bin/time -o "$work/time" -f "%e %M" "$@" > /dev/null 2>&1
  read -r seconds kb < "$work/time"
  printf "  %-24s %6.2f s %7.0f MB\n" "$label" "$seconds" "$(awk "BEGIN{print $kb / 1024}")"
}
measure untraced "${small[@]}"
measure heaptrack heaptrack -o "$work/heaptrack" "${small[@]}"
measure "tidemark --no-snapshots" "$bin/tidemark" record --no-snapshots -o "$work/s0.tmk" -- \
  "${small[@]}"
measure tidemark "$bin/tidemark" record -o "$work/s1.tmk" -- "${small[@]}"
"$bin/tidemark" analyze "$work/s1.tmk" | grep -m1 "snapshots " | sed 's/^ */  exit /'

# served LOG REQUESTS CMD...: runs a server (CMD, whose last argument is followed by a port
# file) under loadgen's REQUESTS requests over 20 connections and --quit; prints seconds.
served() {
  local log=$1 count=$2
  shift 2
  rm -f "$work/port-$log"  # not a port of an earlier run
  local start=$(date +%s.%N)
  "$@" "$work/port-$log" > "$work/$log" 2>&1 &
  local pid=$!
  "$bin/loadgen" --port-file "$work/port-$log" --requests "$count" --connections 20 --quit \
    > /dev/null || kill "$pid"
  wait $pid
  elapsed "$start"
}

# serve_time LABEL REQUESTS SERVER...: the time to a leak report for a server under load,
# tidemark record --report against valgrind --leak-check=full, next to the server untraced
# (no tool can take less than that); prints both leak summaries and the ratios.
serve_time() {
  local label=$1 count=$2
  shift 2
  local untraced_s tidemark_s valgrind_s
  untraced_s=$(served "$label.log" "$count" "$@")
  tidemark_s=$(served "$label-tidemark.log" "$count" "$bin/tidemark" record --report \
    -o "$work/$label.tmk" -- "$@")
  valgrind_s=$(served "$label-valgrind.log" "$count" valgrind --leak-check=full "$@")
  grep -m1 "definitely lost" "$work/$label-tidemark.log" | sed 's/^ */tidemark: /'
  grep -m1 "definitely lost:" "$work/$label-valgrind.log" | sed 's/^==[0-9]*== */valgrind: /'
  printf "untraced %.2f s, tidemark record --report %.2f s, valgrind %.2f s: %.3f / %.3f of valgrind's time\n" \
    "$untraced_s" "$tidemark_s" "$valgrind_s" "$(awk "BEGIN{print $untraced_s / $valgrind_s}")" \
    "$(awk "BEGIN{print $tidemark_s / $valgrind_s}")"
}

echo
echo "time to a leak report: sample server, $requests requests over 20 connections (latency-bound)"
serve_time server "$requests" "$bin/event_server" --port-file

echo
echo "time to a leak report: node samples/node/leaky_server.js, 2,000 requests over 20 connections"
serve_time node 2000 node "$(dirname "$0")/../samples/node/leaky_server.js"

# report_time CMD...: tidemark record --report, and record then analyze, against valgrind
# --leak-check=full, on the same command; prints both leak summaries and the ratios.
report_time() {
  local start report_s two_s valgrind_s
  start=$(date +%s.%N)
  "$bin/tidemark" record --report -o "$work/report.tmk" -- "$@" > /dev/null 2> "$work/report.log"
  report_s=$(elapsed "$start")
  start=$(date +%s.%N)
  "$bin/tidemark" record -o "$work/two.tmk" -- "$@" > /dev/null 2>&1
  "$bin/tidemark" analyze "$work/two.tmk" > /dev/null
  two_s=$(elapsed "$start")
  start=$(date +%s.%N)
  valgrind --leak-check=full "$@" > /dev/null 2> "$work/valgrind-run.log"
  valgrind_s=$(elapsed "$start")
  grep -m1 "definitely lost" "$work/report.log" | sed 's/^ */tidemark: /'
  grep -m1 -E "definitely lost:|All heap blocks were freed" "$work/valgrind-run.log" | sed 's/^==[0-9]*== */valgrind: /'
  printf "tidemark record --report %.2f s, record + analyze %.2f s, valgrind %.2f s: %.3f / %.3f of valgrind's time\n" \
    "$report_s" "$two_s" "$valgrind_s" "$(awk "BEGIN{print $report_s / $valgrind_s}")" \
    "$(awk "BEGIN{print $two_s / $valgrind_s}")"
}

echo
echo "time to a leak report: alloc_bench, 1M allocation calls in 2 threads (allocation-bound)"
report_time "$bin/alloc_bench" --ops 1000000

echo
echo "time to a leak report: python3 bench/json_work.py (CPU-bound interpreter)"
# The interpreter itself: valgrind would time a pyenv shim script instead.
python=$(python3 -c 'import sys; print(sys.executable)')
report_time "$python" "$(dirname "$0")/json_work.py"
