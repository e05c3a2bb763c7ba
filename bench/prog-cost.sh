#!/usr/bin/env bash
# Per-sample cost of tsprof's perf_event program beside bpftrace's
# `profile:hz:99 { @[kstack, ustack] = count(); }`, measured in the same run
# with bpf_stats (run_time_ns / run_cnt), on a machine kept busy on every CPU.
# Usage: bench/prog-cost.sh [RUNS=5] [SECONDS=15]   (as root, after npm install)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
secs=${2:-15}
command -v bpftrace >/dev/null || { echo "needs bpftrace (apt-get install -y bpftrace)"; exit 2; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; sysctl -qw kernel.bpf_stats_enabled=0' EXIT
cat >"$tmp/burn.c" <<'C'
__attribute__((noinline)) static double leaf(double x) { volatile double a = x; for (int i = 0; i < 1000; i++) a = a * 1.0000001 + 0.5; return a; }
__attribute__((noinline)) static double mid(double x) { return leaf(x) + 1; }
int main(void) { volatile double s = 0; for (;;) s = mid(s); }
C
gcc -O1 -fno-omit-frame-pointer -o "$tmp/burn" "$tmp/burn.c"
sysctl -qw kernel.bpf_stats_enabled=1
ours=(); theirs=(); ratios=()
for r in $(seq "$runs"); do
  "$tmp/burn" & b1=$!
  "$tmp/burn" & b2=$!
  # Both events fire on the same CPUs; whichever runs second finds warm
  # caches, so the start order alternates between runs.
  if [ $((r % 2)) = 1 ]; then
    node dist/bundle/cli.js record -o "$tmp/r.pb.gz" --duration $((secs + 5)) 2>/dev/null & rec=$!
    sleep 1
    bpftrace -e 'profile:hz:99 { @[kstack, ustack] = count(); }' >/dev/null 2>&1 & bt=$!
  else
    bpftrace -e 'profile:hz:99 { @[kstack, ustack] = count(); }' >/dev/null 2>&1 & bt=$!
    sleep 1
    node dist/bundle/cli.js record -o "$tmp/r.pb.gz" --duration $((secs + 5)) 2>/dev/null & rec=$!
  fi
  sleep "$secs"
  progs=$(bpftool prog show -j)
  # The newest program of each kind: ids of a run just closed may linger.
  o=$(jq '[.[] | select(.name=="on_cpu_clock" and .run_cnt>0)] | max_by(.id) | .run_time_ns/.run_cnt' <<<"$progs")
  t=$(jq '[.[] | select(.type=="perf_event" and .name!="on_cpu_clock" and .run_cnt>0)] | max_by(.id) | .run_time_ns/.run_cnt' <<<"$progs")
  kill -INT "$rec" 2>/dev/null || true
  # bpftrace symbolizes every stack when it exits, which takes minutes: not measured.
  kill -KILL "$bt" 2>/dev/null || true
  kill "$b1" "$b2"; wait 2>/dev/null || true
  sleep 2
  ours+=("$o"); theirs+=("$t")
  ratio=$(node -e "console.log(($o/$t).toFixed(3))")
  ratios+=("$ratio")
  printf 'run %d: tsprof %.0f ns/sample, bpftrace %.0f ns/sample, ratio %s\n' "$r" "$o" "$t" "$ratio"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf 'median: tsprof %.0f ns, bpftrace %.0f ns, ratio tsprof/bpftrace %s (over %d runs)\n' \
  "$(median "${ours[@]}")" "$(median "${theirs[@]}")" "$(median "${ratios[@]}")" "$runs"
