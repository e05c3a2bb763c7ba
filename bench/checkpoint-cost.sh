#!/usr/bin/env bash
# CPU of `tsprof record` (checkpoints included) at 99 Hz with both CPUs
# busy, beside `tsprof top` in batch mode over the same time; optionally
# beside another build's record (the code before a change), and the bytes
# per sample of the recording beside `perf record -g` on the same workload.
# The floor is a `record` that the kernel sends no sample: it follows an idle
# process (--pid), so what it uses is the process itself (timers, drains,
# checkpoints, the poller) under the same load, and no sample's handling.
# Usage: [BURNER=bash|c] bench/checkpoint-cost.sh [SECONDS=60] [OTHER_CHECKOUT]   (as root, after npm install)
# One run of each; CPU is utime+stime of the recorder from /proc, in % of one core.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
other=${2:-}
work=$(mktemp -d /tmp/tsprof-ckpt-XXXXXX)
burners=()
cleanup() { kill -9 "${burners[@]}" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# BURNER=c keeps the CPUs busy with a compiled loop (shallow stacks, frame
# pointers) instead of bash loops (stacks ~100 frames deep, no frame pointers).
if [ "${BURNER:-bash}" = c ]; then
  gcc -O1 -fno-omit-frame-pointer -o "$work/loop" bench/workloads/loop.c || exit 1
  for _ in $(seq "$(nproc)"); do "$work/loop" 100000 >/dev/null & burners+=($!); done
else
  for _ in $(seq "$(nproc)"); do (while :; do :; done) & burners+=($!); done
fi

# cpu_of PID: utime+stime in clock ticks
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# measure NAME CMD...: runs CMD for $secs s, prints NAME's CPU %
measure() {
  local name=$1; shift
  "$@" >/dev/null 2>"$work/err-${name//[^a-z]/_}" &
  local pid=$! t0 c0 c1
  sleep 1; t0=$(date +%s%N); c0=$(cpu_of $pid)
  sleep "$secs"
  c1=$(cpu_of $pid); local t1; t1=$(date +%s%N)
  kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null
  awk -v c=$((c1 - c0)) -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$name" \
    'BEGIN { printf "%-22s %.2f%% of a core over %.0f s\n", n, 100 * c / hz / (t / 1e9), t / 1e9 }'
}
samples_of() { ./dist/bundle/cli.js report "$1" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).samples))'; }

measure "record (this build)" ./dist/bundle/cli.js record -o "$work/new.pb.gz" --duration $((secs + 5))
[ -n "$other" ] && measure "record (other checkout)" env -C "$other" ./dist/bundle/cli.js record -o "$work/old.pb.gz" --duration $((secs + 5))
measure "top -b" ./dist/bundle/cli.js top -d 1
sleep $((secs + 30)) & idle=$!
measure "record, no samples" ./dist/bundle/cli.js record --pid $idle -o "$work/floor.pb.gz" --duration $((secs + 5))
kill $idle 2>/dev/null
n=$(samples_of "$work/new.pb.gz"); b=$(stat -c %s "$work/new.pb.gz")
echo "tsprof record: $n samples, $b bytes, $((b / (n > 0 ? n : 1))) bytes/sample"
if command -v perf >/dev/null; then
  sleep 2  # let the last recorder detach first
  perf record -g -F 99 -a -o "$work/perf.data" -- sleep "$secs" >/dev/null 2>"$work/perf.err" \
    || perf record -g -F 99 -a -o "$work/perf.data" -- sleep "$secs" >/dev/null 2>"$work/perf.err"
  pn=$(sed -nE 's/.*\(([0-9]+) samples\).*/\1/p' "$work/perf.err")
  pb=$(stat -c %s "$work/perf.data")
  echo "perf record -g: ${pn:-?} samples, $pb bytes, $((pb / ${pn:-1})) bytes/sample"
fi
