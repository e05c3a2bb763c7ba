#!/usr/bin/env bash
# Time from start to the first full frame (header, rows and footer drawn),
# for `tsprof top` and `perf top -F 99 -g`, side by side on the same machine,
# each in a 160x45 tmux pane. Prints every run and the medians.
# Usage: bench/first-frame.sh [RUNS=5]   (as root, after npm install)
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
s=tsprof-ff-$$
trap 'tmux kill-session -t "$s" 2>/dev/null' EXIT
# first_frame CMD PATTERN...: ms until every PATTERN is on the pane
first_frame() {
  local cmd=$1; shift
  local t0 now
  t0=$(date +%s%N)
  tmux new-session -d -s "$s" -x 160 -y 45 "env -u CI $cmd"
  for _ in $(seq 400); do
    local pane ok=1
    pane=$(tmux capture-pane -p -t "$s" 2>/dev/null)
    for p in "$@"; do grep -qE -- "$p" <<<"$pane" || { ok=0; break; }; done
    if [ $ok = 1 ]; then now=$(date +%s%N); echo $(((now - t0) / 1000000)); tmux kill-session -t "$s"; sleep 1; return; fi
    sleep 0.02
  done
  echo 99999; tmux kill-session -t "$s"; sleep 1
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
ours=(); perfs=()
for r in $(seq "$runs"); do
  o=$(first_frame "./dist/bundle/cli.js top" "q quit" "[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+")
  p=$(first_frame "perf top -F 99 -g" "Samples" "[0-9]+\.[0-9]+%")
  ours+=("$o"); perfs+=("$p")
  echo "run $r: tsprof top ${o} ms, perf top -g ${p} ms"
done
echo "median first full frame: tsprof top $(median "${ours[@]}") ms, perf top -g $(median "${perfs[@]}") ms (over $runs runs)"
