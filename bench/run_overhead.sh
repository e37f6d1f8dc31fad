#!/usr/bin/env bash
# Tracer overhead in one run: alloc_bench untraced, under `tidemark record` (default, and
# --no-snapshots: recording only) and under heaptrack, with mixed (power-law) and fixed 64-byte sizes. Prints wall time, slowdown
# against the untraced run, peak RSS and trace bytes per allocation call.
# heaptrack may run out of memory or crash on the mixed sizes; that is reported, not fatal.
#   bench/run_overhead.sh [BUILD_DIR] [OPS]
set -uo pipefail
build=$(cd "${1:-build}" && pwd)
ops=${2:-5000000}
bin="$build/bin"
work=$(mktemp -d /tmp/tidemark-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

for tool in /usr/bin/time heaptrack; do
  if ! command -v "$tool" > /dev/null; then
    echo "run_overhead: $tool is missing (Debian packages: time, heaptrack)" >&2
    exit 1
  fi
done

# run NAME CMD...: runs CMD under /usr/bin/time (at most 300 s); sets secs, rss_kb, status.
run() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$work/$name.time" timeout 300 "$@" > "$work/$name.out" 2>&1
  status=$?
  read -r secs rss_kb < <(tail -n 1 "$work/$name.time")
}

best_of() {  # best_of N NAME CMD...: the fastest of N runs (the machine is noisy)
  local n=$1 name=$2 best="" best_rss="" best_status=0
  shift 2
  for _ in $(seq "$n"); do
    run "$name" "$@"
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then
      best=$secs best_rss=$rss_kb best_status=$status
    fi
  done
  secs=$best rss_kb=$best_rss status=$best_status
}

printf "%-8s %-12s %7s %9s %10s %14s  %s\n" sizes tool seconds slowdown "peak RSS" "trace B/call" status
for mode in mixed fixed; do
  args=(--ops "$ops")
  [ "$mode" = fixed ] && args+=(--fixed 64)

  best_of 5 "$mode-plain" "$bin/alloc_bench" "${args[@]}"
  base=$secs
  printf "%-8s %-12s %7.2f %9s %8d MB %14s  %s\n" "$mode" untraced "$secs" 1.00 $((rss_kb / 1024)) - ok

  # tidemark as it runs by default (keeping the live-block table for the snapshot at
  # exit), and recording allocations only.
  for variant in tidemark tidemark-rec; do
    flags=()
    [ "$variant" = tidemark-rec ] && flags=(--no-snapshots)
    rm -f "$work"/*.tmk
    best_of 5 "$mode-$variant" "$bin/tidemark" record "${flags[@]}" -o "$work/$mode.tmk" -- \
      "$bin/alloc_bench" "${args[@]}"
    bytes=$(stat -c %s "$work/$mode.tmk")
    printf "%-8s %-12s %7.2f %9.2f %8d MB %14.2f  %s\n" "$mode" "$variant" "$secs" \
      "$(awk "BEGIN{print $secs / $base}")" $((rss_kb / 1024)) "$(awk "BEGIN{print $bytes / $ops}")" \
      "$([ "$status" -eq 0 ] && echo ok || echo "exit $status")"
  done

  rm -f "$work"/heaptrack.*
  run "$mode-heaptrack" heaptrack -o "$work/heaptrack.$mode" "$bin/alloc_bench" "${args[@]}"
  trace=$(ls "$work"/heaptrack."$mode"* 2> /dev/null | head -n 1)
  bytes=$([ -n "$trace" ] && stat -c %s "$trace" || echo 0)
  verdict=ok
  if [ "$status" -ne 0 ] || ! grep -q "alloc_bench: $ops allocation calls" "$work/$mode-heaptrack.out"; then
    verdict="FAILED (exit $status): $(grep -m1 -iE 'killed|error|abort|memory' "$work/$mode-heaptrack.out" | cut -c1-60)"
  fi
  printf "%-8s %-12s %7.2f %9.2f %8d MB %14.2f  %s\n" "$mode" heaptrack "$secs" \
    "$(awk "BEGIN{print $secs / $base}")" $((rss_kb / 1024)) "$(awk "BEGIN{print $bytes / $ops}")" "$verdict"
done
