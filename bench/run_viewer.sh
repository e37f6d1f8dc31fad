#!/usr/bin/env bash
# tidemark-view on big traces: time from launch to the first drawn frame, frame times
# while panning the timeline, and the viewer's peak memory, for traces of ~10M and ~100M
# events (alloc_bench: 5M and 50M allocation calls, each with its free), and for a
# synthetic day-long run (864,000 samples, 13.8M events; bench/day_trace.cpp). Under Xvfb.
#   bench/run_viewer.sh [BUILD_DIR]
set -uo pipefail
build=$(cd "${1:-build}" && pwd)
bin="$build/bin"
work=$(mktemp -d /tmp/tidemark-viewbench-XXXXXX)
trap 'rm -rf "$work"' EXIT

for spec in "10M 5000000 mixed" "100M 50000000 fixed" "day 0 synthetic"; do
  read -r name ops sizes <<< "$spec"
  if [ "$sizes" = synthetic ]; then
    "$bin/day_trace" "$work/$name.tmk" > /dev/null
  else
    args=(--ops "$ops")
    [ "$sizes" = fixed ] && args+=(--fixed 64)
    "$bin/tidemark" record --no-snapshots -o "$work/$name.tmk" -- "$bin/alloc_bench" "${args[@]}" \
      > /dev/null 2>&1
  fi
  raw=$(python3 - "$work/$name.tmk" << 'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
pos, raw = 16, 0
while pos + 16 <= len(data):
    magic, compressed, size, seq = struct.unpack('<IIII', data[pos:pos + 16])
    raw += size
    pos += 16 + compressed
print(raw)
PY
)
  echo "== $name events ($sizes sizes): trace $(( $(stat -c %s "$work/$name.tmk") >> 20 )) MB," \
       "$(( raw >> 20 )) MB uncompressed"
  # -f: no directory of xvfb-run's own, whose removal fails now and then.
  xvfb-run -a -f "$work/xauthority" -s "-screen 0 1400x900x24" /usr/bin/time -f "viewer peak RSS %M KB" \
    "$bin/tidemark-view" "$work/$name.tmk" --bench-pan 300 --size 1280x800 2>&1
done
