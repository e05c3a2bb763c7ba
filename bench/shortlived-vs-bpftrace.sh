#!/usr/bin/env bash
# On one storm of short-lived processes, in the same run: the share of their
# samples whose innermost user frame is named, by tsprof and by bpftrace
# (`profile:hz:99 /comm == "brief-burn"/ { @[ustack] = count(); }`).
# Usage: bench/shortlived-vs-bpftrace.sh [COUNT=300] [MS=30] [RUNS=3]   (root, after npm install)
set -uo pipefail
cd "$(dirname "$0")/.."
count=${1:-300}; ms=${2:-30}; runs=${3:-3}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
for f in brief-burn spawn-storm; do
  gcc -O1 -g -fno-omit-frame-pointer -fno-inline -o "$tmp/$f" "test/fixtures/$f.c"
done
for r in $(seq "$runs"); do
  node dist/bundle/cli.js record -o "$tmp/s.pb.gz" --duration $((count * ms / 2000 + 8)) 2>/dev/null & rec=$!
  bpftrace -e 'profile:hz:99 /comm == "brief-burn"/ { @[ustack] = count(); }' >"$tmp/bt.out" 2>&1 & bt=$!
  sleep 3
  "$tmp/spawn-storm" "$count" 2 "$tmp/brief-burn" "$ms" >/dev/null
  sleep 1
  kill -INT "$bt"; wait "$bt"
  wait "$rec"
  ours=$(node dist/bundle/cli.js report "$tmp/s.pb.gz" --json --comm brief-burn | node -e '
    const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const unnamed = r.functions.filter((f) => f.name.startsWith("[unknown]")).reduce((n, f) => n + f.self, 0);
    console.log(`${r.samples - unnamed} ${r.samples}`)')
  # bpftrace prints each stack innermost first, then "]: COUNT"; a named frame reads "func+off".
  theirs=$(awk '/^@\[/{first=1; next} first==1 && NF {named=($1 ~ /^[A-Za-z_][A-Za-z0-9_.]*\+[0-9]+$/); first=0; next} /^\]: /{n=$2; tot+=n; if (named) ok+=n} END{print ok+0, tot+0}' "$tmp/bt.out")
  read -r on ot <<<"$ours"; read -r bn bt2 <<<"$theirs"
  echo "run $r: tsprof named $on of $ot ($(node -e "console.log(($on/Math.max($ot,1)*100).toFixed(1))")%), bpftrace named $bn of $bt2 ($(node -e "console.log(($bn/Math.max($bt2,1)*100).toFixed(1))")%)"
done
