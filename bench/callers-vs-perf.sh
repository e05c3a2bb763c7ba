#!/usr/bin/env bash
# Issue 9's figures beside `perf record --call-graph dwarf`, both sampling
# the same process at once at 99 Hz:
#   - the share of its samples whose stack reaches the program's entry
#     (main, or Py_BytesMain for Debian's python3, built without frame pointers);
#   - the CPU each recorder used (utime+stime from /proc, % of one core),
#     and the CPU seconds `perf script` then took to unwind and name perf's
#     samples, which tsprof did while recording;
#   - the user stack each copied per sample (tsprof's record summary,
#     perf's sample size from perf.data's size).
# Workloads: Debian's /usr/bin/python3, a frame-pointer program calling
# libc's qsort with a burning comparator, and a -fomit-frame-pointer loop.
# Usage: bench/callers-vs-perf.sh [SECONDS=10] [RUNS=3]   (as root, after npm install)
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
runs=${2:-3}
cli=./dist/bundle/cli.js
[ "$(id -u)" = 0 ] && [ -x "$cli" ] || { echo "callers-vs-perf: run as root after npm install" >&2; exit 1; }
command -v perf >/dev/null || { echo "callers-vs-perf: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
work=$(mktemp -d /tmp/tsprof-callers-XXXXXX)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
gcc -O1 -fno-omit-frame-pointer -fno-inline -o "$work/qsort-burn" bench/workloads/qsort-burn.c || exit 1
gcc -O2 -fomit-frame-pointer -fno-inline -o "$work/loop-nofp" bench/workloads/loop.c || exit 1
cat >"$work/busy.py" <<'PY'
import sys, time
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    fib(18)
PY

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)
# share FILE PATTERN: of perf script's samples, the share whose stack has a frame matching PATTERN
perf_share() {
	perf script -i "$1" 2>/dev/null >"$work/p.txt"
	awk -v re="$2" '
		/^[^ \t]/ { n++; hit = 0; next }
		/^$/ { next }
		{ if (!hit && $2 ~ re) { hit = 1; h++ } }
		END { printf "%d %d\n", h, n }' "$work/p.txt"
}
ours_share() {
	$cli report "$1" --json | node -e '
		let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
			const r = JSON.parse(s), re = new RegExp(process.argv[1]);
			const f = r.functions.filter((x) => re.test(`${x.name}+`)).reduce((m, x) => Math.max(m, x.total), 0);
			console.log(`${f} ${r.samples}`);
		});' "$2"
}

printf "%-9s %-3s %-20s %-20s %-18s %-12s %s\n" workload run "tsprof reaches" "perf dwarf reaches" "CPU tsprof/perf" "perf script" "stack bytes/sample tsprof/perf"
TIMEFORMAT='%3U %3S'

for w in python3 qsort nofp-loop; do
	for r in $(seq "$runs"); do
		case $w in
			python3) cmd=(/usr/bin/python3 "$work/busy.py" $((secs + 4))); re='^(Py_BytesMain)\+' ;;
			qsort) cmd=("$work/qsort-burn" $((secs + 4))); re='^main\+' ;;
			nofp-loop) cmd=("$work/loop-nofp" $((secs + 4))); re='^main\+' ;;
		esac
		"${cmd[@]}" >/dev/null & pid=$!
		sleep 0.5
		$cli record --pid $pid -o "$work/t.pb.gz" --duration "$secs" >/dev/null 2>"$work/t.err" & tp=$!
		perf record -q -F 99 --call-graph dwarf -p $pid -o "$work/p.data" -- sleep "$secs" >/dev/null 2>"$work/p.err" & pp=$!
		sleep 2
		t0=$(date +%s%N); a0=$(cpu_of $tp); b0=$(cpu_of $pp)
		sleep $((secs - 3))
		a1=$(cpu_of $tp); b1=$(cpu_of $pp); t1=$(date +%s%N)
		wait $tp $pp; kill $pid 2>/dev/null; wait $pid 2>/dev/null
		read -r oh on < <(ours_share "$work/t.pb.gz" "$re")
		{ time perf_share "$work/p.data" "$re" >"$work/share"; } 2>"$work/time"
		read -r ph pn <"$work/share"
		read -r su ss <"$work/time"
		tb=$(sed -nE 's/.*user stacks: ([0-9]+) bytes copied per sample.*/\1/p' "$work/t.err")
		pb=$(( $(stat -c %s "$work/p.data") / (pn > 0 ? pn : 1) ))
		awk -v w=$w -v r=$r -v oh=$oh -v on=$on -v ph=$ph -v pn=$pn -v ca=$((a1 - a0)) -v cb=$((b1 - b0)) -v t=$((t1 - t0)) -v hz=$hz -v tb="${tb:-?}" -v pb=$pb -v su=$su -v ss=$ss 'BEGIN {
			printf "%-9s %-3d %5.1f%% (%4d/%4d)   %5.1f%% (%4d/%4d)   %.2f%% / %.2f%%    %.2f s       %s / %d\n", w, r,
				on ? 100 * oh / on : 0, oh, on, pn ? 100 * ph / pn : 0, ph, pn,
				100 * ca / hz / (t / 1e9), 100 * cb / hz / (t / 1e9), su + ss, tb, pb }'
	done
done
