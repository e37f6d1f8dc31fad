#!/usr/bin/env bash
# Fuzzes the trace reader and the analysis with hostile traces (tests/fuzz/analyze_fuzz.cpp).
# Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]
#   BUILD_DIR: a normal build (its tidemark records the seed traces); the fuzz build goes
#   into BUILD_DIR/fuzz (clang, ASan, UBSan). Findings: BUILD_DIR/fuzz/findings/.
# Seeds: the raw records of small traces recorded here, with snapshots: each chunk alone,
# and each trace whole with its chunks apart (analyze_fuzz.cpp: kChunkBreak).
set -euo pipefail
source=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
seconds=${2:-600}
work="$build/fuzz"
mkdir -p "$work/seeds" "$work/corpus" "$work/findings" "$work/traces"

flags="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined"
CC=clang CXX=clang++ cmake -S "$source" -B "$work/build" -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="$flags -fsanitize=fuzzer-no-link" > /dev/null
cmake --build "$work/build" --target tidemark_analysis -j"$(nproc)" > /dev/null
clang++ -std=c++20 $flags -fsanitize=fuzzer -I"$source/analyzer/core" -I"$source/format" \
  "$source/tests/fuzz/analyze_fuzz.cpp" "$work/build/analyzer/libtidemark_analysis.a" \
  "$work/build/format/libtidemark_format.a" -ldw -lelf -lzstd \
  /usr/lib/x86_64-linux-gnu/libiberty.a -lpthread -o "$work/analyze_fuzz"

"$build/bin/tidemark" record -o "$work/traces/leak_kinds.tmk" -- "$build/bin/test_leak_kinds" \
  > /dev/null 2>&1
"$build/bin/tidemark" record --snapshot-every 20ms -o "$work/traces/alloc.tmk" -- \
  "$build/bin/alloc_bench" --ops 5000 > /dev/null 2>&1
python3 - "$work/seeds" "$work"/traces/*.tmk <<'PY'
import os, struct, subprocess, sys
out = sys.argv[1]
for path in sys.argv[2:]:
    data = open(path, 'rb').read()
    at = struct.unpack_from('<I', data, 12)[0]  # FileHeader.headerBytes
    chunks = []
    for i in range(1 << 20):
        if at + 16 > len(data):
            break
        magic, compressed, raw, sequence = struct.unpack_from('<IIII', data, at)
        records = subprocess.run(['zstd', '-d', '-c'], input=data[at + 16:at + 16 + compressed],
                                 capture_output=True, check=True).stdout
        open(os.path.join(out, '%s-%d' % (os.path.basename(path), i)), 'wb').write(records)
        chunks.append(records)
        at += 16 + compressed
    open(os.path.join(out, os.path.basename(path) + '-all'), 'wb').write(b'\xf1TMCHUNK'.join(chunks))
PY

cd "$work"
FUZZ_TRACE="$work" ./analyze_fuzz corpus seeds -dict="$source/tests/fuzz/chunk_break.dict" \
  -max_len=65536 -timeout=10 -rss_limit_mb=2048 -max_total_time="$seconds" \
  -artifact_prefix=findings/ -print_final_stats=1
