#!/usr/bin/env bash
# Leak classes of real programs, tidemark against memcheck. Each command is recorded
# (tidemark record, then analyze --json: its last snapshot) and run under valgrind
# --leak-check=full --leak-check-heuristics=all --run-libc-freeres=no --run-cxx-freeres=no
# (by default memcheck has glibc and libstdc++ free their own caches before it looks, a
# state the program never runs in: docs/guide.md, "What is counted"). Prints bytes and
# blocks of the four classes from both, and whether definitely + indirectly lost agree
# ("same") and all four do ("all"). Commands not installed are left out.
#   bench/run_memcheck_sweep.sh [BUILD_DIR]
set -uo pipefail
build=$(cd "${1:-build}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
tidemark="$build/bin/tidemark"
work=$(mktemp -d /tmp/tidemark-sweep-XXXXXX)
trap 'rm -rf "$work"' EXIT

if ! command -v valgrind > /dev/null; then
  echo "run_memcheck_sweep: valgrind is missing (Debian package valgrind)" >&2
  exit 1
fi

# compare NAME CMD...: both runs of CMD, then one line of results.
compare() {
  local name=$1
  shift
  if ! command -v "$1" > /dev/null; then
    echo "$name: $1 not installed, left out"
    return
  fi
  local dir="$work/$name"
  mkdir -p "$dir"
  (cd "$dir" && "$tidemark" record -o t.tmk -- "$@" > /dev/null 2>&1 < /dev/null)
  "$tidemark" analyze --json "$dir/t.tmk" > "$dir/t.json" 2> /dev/null
  (cd "$dir" && valgrind --leak-check=full --show-leak-kinds=all --leak-check-heuristics=all \
    --run-libc-freeres=no --run-cxx-freeres=no --log-file=vg.log "$@" > /dev/null 2>&1 < /dev/null)
  python3 - "$name" "$dir/t.json" "$dir/vg.log" << 'PY'
import json, re, sys
name, trace, log = sys.argv[1:4]
classes = ("definite", "indirect", "possible", "reachable")
last = json.load(open(trace))["snapshots"][-1]
ours = {k: (last["bytes"][k], last["blocks"][k]) for k in classes}
text = open(log).read()
theirs = {}
for k, label in zip(classes, ("definitely lost", "indirectly lost", "possibly lost", "still reachable")):
    m = re.search(label + r": ([\d,]+) bytes in ([\d,]+) blocks", text)
    theirs[k] = tuple(int(g.replace(",", "")) for g in m.groups()) if m else (0, 0)
same = all(ours[k] == theirs[k] for k in ("definite", "indirect"))
show = lambda d: "  ".join(f"{k} {d[k][0]:,} B/{d[k][1]:,}" for k in classes)
print(f"{name:<8} {'same' if same else 'DIFFERENT'}{' all' if ours == theirs else ''}")
print(f"  tidemark  {show(ours)}")
print(f"  memcheck  {show(theirs)}")
PY
}

compare ls ls -la /usr/lib
compare git git -C "$repo" log --oneline -20
compare sort sort /etc/services /etc/protocols
compare awk awk '{a[$1]++} END {for (k in a) n++; print n}' /etc/services
compare sqlite3 sqlite3 :memory: 'create table t(a); insert into t values(1),(2); select * from t;'
compare python3 /usr/bin/python3 -c 'import json; print(len(json.dumps([dict(a=i) for i in range(1000)])))'
compare bash bash -c 'for i in 1 2 3; do x=$(echo $i); done; echo $x'
compare find find /usr/include -name '*.h'
compare grep grep -r malloc /usr/include/stdlib.h
compare cmake cmake --version
compare tar tar cf "$work/docs.tar" -C "$repo" docs
compare g++ g++ --version
compare openssl openssl sha256 /etc/services
compare curl curl -s file:///etc/hostname
compare gdb gdb --batch -ex 'info functions xyz' /bin/true
compare perl perl -e 'my %h; $h{$_} = [$_] for 1 .. 10000; print scalar(keys %h), "\n"'
compare make make -n -C "$build" tidemark
