#!/usr/bin/env bash
# Random instances through `essaim allocate`, each checked against HiGHS by check_allocation.py and run
# twice to check the output is deterministic (byte-identical but for stats.solve_ms).
# Usage: check_random_allocations.sh ESSAIM_BIN [COUNT=40] [SEED=1]
# INSTANCE_FLAGS is passed to random_instances.py (e.g. INSTANCE_FLAGS=--base for an older essaim).
set -uo pipefail
bin=${1:?usage: $0 ESSAIM_BIN [COUNT] [SEED]}
case $bin in */*) bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin") ;; esac  # we cd below
count=${2:-40}
seed=${3:-1}
here=$(cd "$(dirname "$0")" && pwd)
python3 -c 'import highspy, numpy' 2>/dev/null || python3 -m pip install -q highspy numpy || exit 1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# shellcheck disable=SC2086
python3 "$here/random_instances.py" --count "$count" --seed "$seed" --out "$dir" ${INSTANCE_FLAGS:-} || exit 1

total=0 optimal=0 failures=0
cd "$dir" || exit 1
for input in instance-*.json; do
  total=$((total + 1))
  name=$(basename "$input" .json)
  first=$name.out1 second=$name.out2
  if ! "$bin" allocate --input "$input" --output "$first" || ! "$bin" allocate --input "$input" --output "$second"; then
    echo "$name: essaim allocate failed"; cat "$first" 2>/dev/null
    failures=$((failures + 1)); continue
  fi
  ok=1
  python3 "$here/check_allocation.py" "$input" "$first" || ok=0
  if ! cmp -s <(grep -v '"solve_ms":' "$first") <(grep -v '"solve_ms":' "$second"); then
    echo "$name: two runs gave different outputs"; diff <(grep -v '"solve_ms":' "$first") <(grep -v '"solve_ms":' "$second") | head -20
    ok=0
  fi
  grep -q '"status": "optimal"' "$first" && optimal=$((optimal + 1))
  [ "$ok" = 1 ] || failures=$((failures + 1))
done
echo "random allocations (seed $seed): $total instances, $optimal optimal, $failures failures"
[ "$failures" = 0 ] && [ "$total" -gt 0 ]
