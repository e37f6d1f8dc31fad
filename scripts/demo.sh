#!/usr/bin/env bash
# `make demo`: trace the sample event server through a short, bounded endurance load on
# 127.0.0.1 and print the report. Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
bin="$build/bin"
out="$build/demo"
rm -rf "$out"
mkdir -p "$out"

echo "== tracing samples/event_server under load (10 rounds x 1000 requests, 10 connections),"
echo "   with a heap-graph snapshot every 500 ms and one at exit"
"$bin/tidemark" record --snapshot-every 500ms -o "$out/server.tmk" -- \
  "$bin/event_server" --port-file "$out/port" > "$out/server.log" 2>&1 &
record=$!
trap 'kill $record 2>/dev/null || true' EXIT

for round in $(seq 1 10); do
  quit=()
  [ "$round" -eq 10 ] && quit=(--quit)
  "$bin/loadgen" --port-file "$out/port" --requests 1000 --connections 10 "${quit[@]}" \
    > /dev/null
  sleep 0.2
done
wait $record
trap - EXIT
cat "$out/server.log"
echo
"$bin/tidemark" analyze "$out/server.tmk" --top 8
echo
# -f: the X authority file here; in a directory of xvfb-run's own, whose removal fails
# now and then, the screenshot would be taken and then called failed.
if command -v xvfb-run > /dev/null &&
  xvfb-run -a -f "$out/xauthority" "$bin/tidemark-view" "$out/server.tmk" \
    --screenshot "$out/timeline.png" --size 1280x720 > /dev/null 2>&1; then
  echo "== tidemark-view's timeline of this run, drawn headless: $out/timeline.png"
fi
echo "== the trace is $out/server.tmk; try: $bin/tidemark analyze --json $out/server.tmk"
echo "   or, with a display: $bin/tidemark view $out/server.tmk"
