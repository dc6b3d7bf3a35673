#!/usr/bin/env bash
# bench/tune.sh -- what `cascade tune` finds (issue 7's figures): for the
# BERT layer at seq 128 and multi-head attention (12 heads of 64) at seq 512,
# a 60 s run and a 10-minute run (each on a fresh database), then the
# default heuristic and both tuned schedules re-timed interleaved.
#
#   bench/tune.sh [--short S] [--long S] [--rounds N] [--only bert|attention]
#
# Prints, per workload: default ms, 60 s best ms, 10 min best ms (medians
# of the interleaved rounds), the speedups, and the schedules found.
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
cascade=${CASCADE:-$root/build/bin/cascade}
short=60 long=600 rounds=5 only=""
while [ $# -gt 0 ]; do
  case $1 in
    --short) short=$2; shift ;;
    --long) long=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --only) only=$2; shift ;;
    *) echo "usage: bench/tune.sh [--short S] [--long S] [--rounds N] [--only bert|attention]" >&2; exit 2 ;;
  esac
  shift
done
# shellcheck source=workloads.sh
source "$bench/workloads.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# best_schedule DB FILE: the best record's schedule as a schedule file
# (empty when the default heuristic won).
best_schedule() {
  local s
  s=$(sqlite3 "$1" "SELECT schedule FROM measurements WHERE best = 1 LIMIT 1")
  if [ -n "$s" ]; then printf 'schedule {\n%s\n}\n' "$s" >"$2"; else : >"$2"; fi
}

time_one() { # MODEL SCHEDULE_FILE
  local sched=()
  [ -s "$2" ] && sched=(--schedule "$2")
  "$cascade" run "$1" "${sched[@]}" --no-tuning-db --random-inputs --seed=1 --bench=10 |
    sed -n 's/^median_ms=//p'
}

declare -A rows
for w in bert attention; do
  [ -n "$only" ] && [ "$only" != "$w" ] && continue
  model="$tmp/$w.ein"
  case $w in
    bert) gen_bert 128 "$model" ;;
    attention) gen_attention 12 64 512 "$model" ;;
  esac
  echo "== $w: tuning for ${short} s and for ${long} s =="
  "$cascade" tune "$model" --budget="${short}s" --db="$tmp/$w-short.db" 2>/dev/null | sed 's/^/  short: /'
  "$cascade" tune "$model" --budget="${long}s" --db="$tmp/$w-long.db" 2>/dev/null | sed 's/^/  long:  /'
  best_schedule "$tmp/$w-short.db" "$tmp/$w-short.sched"
  best_schedule "$tmp/$w-long.db" "$tmp/$w-long.sched"
  : >"$tmp/default.sched"
  d=() s=() l=()
  for r in $(seq "$rounds"); do
    d+=("$(time_one "$model" "$tmp/default.sched")")
    s+=("$(time_one "$model" "$tmp/$w-short.sched")")
    l+=("$(time_one "$model" "$tmp/$w-long.sched")")
  done
  dm=$(printf '%s\n' "${d[@]}" | median)
  sm=$(printf '%s\n' "${s[@]}" | median)
  lm=$(printf '%s\n' "${l[@]}" | median)
  rows[$w]=$(printf '| %s | %.3f | %.3f | %.3f | %.2fx | %.2fx | %.2f |' "$w" "$dm" "$sm" "$lm" \
    "$(echo "$dm / $sm" | bc -l)" "$(echo "$dm / $lm" | bc -l)" "$(echo "$sm / $lm" | bc -l)")
  echo "  ${short} s schedule:"; sed 's/^/    /' "$tmp/$w-short.sched"
  echo "  ${long} s schedule:"; sed 's/^/    /' "$tmp/$w-long.sched"
done
echo
echo "| workload | default ms | ${short} s best ms | ${long} s best ms | default / ${short} s | default / ${long} s | ${short} s / ${long} s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for w in bert attention; do [ -n "${rows[$w]:-}" ] && echo "${rows[$w]}"; done
echo "(medians of $rounds interleaved rounds of 10 runs each; an empty schedule is the default heuristic)"
