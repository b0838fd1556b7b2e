#!/usr/bin/env bash
# Side by side: the same benchmark on an earlier commit and on this checkout, alternating,
# with the form-shaped echo once a round (docs/BENCHMARKS.md, "Cost per update").
#
#   git worktree add ../before <commit> && cp -r bench/. ../before/bench/
#   bench/side_by_side.sh ../before handle 3             # bench.handle, CPU ms an update
#   bench/side_by_side.sh ../before throughput 2 200 aiogram
#   bench/side_by_side.sh ../first,../before throughput 5 30 aiogram   # several earlier trees
#
# Every tree runs this checkout's .venv; each line is one run, the machine's load beside it.
set -euo pipefail
IFS=, read -ra given <<<"$1"; earlier=(); for tree in "${given[@]}"; do earlier+=("$(cd "$tree" && pwd)"); done
kind=$2; rounds=${3:-2}; size=${4:-200}; framework=${5:-aiogram}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python="$here/.venv/bin/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load() { cut -d' ' -f1 /proc/loadavg; }
for _ in $(seq "$rounds"); do
  for tree in "${earlier[@]}" "$here"; do
    cd "$tree"
    if [ "$kind" = handle ]; then
      out=$("$python" -m bench.handle --rounds 1 2>&1)
      cpu=$(grep "CPU ms per update" <<<"$out" | head -1 | awk -F'|' '{print $3}')
      steps=$(grep -E "^\| (review:submit|confidential:pick|text|category:pick) " <<<"$out" \
        | awk -F'|' '{printf "%s=%s ", $2, $4}')
      echo "$tree cpu=${cpu// /} ms $steps load=$(load)"
    else
      out=$("$python" -m bench.run --only throughput --repeat 1 --size "$size" \
        --frameworks "$framework" --kinds bot --workdir "$work" 2>&1 | grep "throughput bot")
      echo "$tree $(sed -E 's/.*workers: ([0-9.]+) updates.*bot CPU ([0-9.]+).*/\1 updates\/s, bot CPU \2/' <<<"$out") load=$(load)"
    fi
  done
  if [ "$kind" != handle ]; then
    cd "$here"
    out=$("$python" -m bench.run --only throughput --repeat 1 --size "$size" \
      --frameworks "$framework" --kinds form-echo --workdir "$work" 2>&1 | grep "throughput form-echo")
    echo "form-shaped echo $(sed -E 's/.*workers: ([0-9.]+) updates.*/\1 updates\/s/' <<<"$out")"
  fi
done
