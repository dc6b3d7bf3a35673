#!/usr/bin/env bash
# compare.sh -- two cascade binaries against each other, interleaved in one
# run on the same machine: the check that a change of the compiler does not
# make any workload of bench/run.sh slower (DEVELOPERS: "timing the old
# binary against the new one, interleaved, in one run").
#
#   bench/compare.sh OLD_CASCADE NEW_CASCADE [--rounds N] [--only REGEX]
#
# Build the old binary from the old commit (a worktree, `scripts/build.sh`
# with CASCADE_BUILD_DIR) and copy it with its lib/ folder, or copy
# build/bin/cascade and build/lib before rebuilding. Each round runs, per
# workload and thread count (1 and 2), `OLD run --bench=N` and `NEW run
# --bench=N` back to back, the first one alternating from round to round;
# a cell is the median over the rounds. Prints a markdown table: old ms, new
# ms and old/new (above 1: the new binary is faster), with lscpu's model.
# The rows are bench/run.sh's (full list), plus the schedule and view rows
# of issue 25: a `split`+`parallel` schedule on a GEMM, a GEMM reading its
# weight through a constant index, and causal attention at seq 2048.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 2 ] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
old="$1" new="$2"
shift 2
rounds=5 only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift ;;
    --only) only="$2"; shift ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for b in "$old" "$new"; do
  [ -x "$b" ] || { echo "compare.sh: $b is not an executable" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=bench/workloads.sh
. "$root/bench/workloads.sh"

# id|label|flags|runs
gen_gemm 128 768 768 "$tmp/g1.ein"
gen_gemm 128 768 3072 "$tmp/g2.ein"
gen_gemm 128 3072 768 "$tmp/g3.ein"
gen_gemm 512 768 768 "$tmp/g4.ein"
gen_gemm 1024 1024 1024 "$tmp/g5.ein"
gen_attention 12 64 128 "$tmp/a1.ein"
gen_attention 12 64 512 "$tmp/a2.ein"
gen_attention 1 64 8192 "$tmp/a3.ein"
gen_attention 1 64 2048 "$tmp/c1.ein" causal
gen_bert 128 "$tmp/b1.ein"
gen_bert 512 "$tmp/b2.ein"
cp "$tmp/g2.ein" "$tmp/s1.ein"
cat >>"$tmp/s1.ein" <<'EOF'
schedule {
  split N -> N1, N0 = 256
  parallel N1
}
EOF
# The weight of a 128x768x768 GEMM read as one slice of a fused [D,3,N]
# tensor (GPT-2's c_attn), against g1's plain form.
cat >"$tmp/v1.ein" <<'EOF'
ranks M=128, K=768, N=768, T=3
input A[M,K] : f32
input W[K,T,N] : f32
C[m,n] = A[m,k] * W[k,1,n]
output C
EOF
W="g1|GEMM 128x768x768||30
g2|GEMM 128x768x3072||10
g3|GEMM 128x3072x768||10
g4|GEMM 512x768x768||10
g5|GEMM 1024^3||5
s1|GEMM 128x768x3072, split N 256 + parallel N1||10
v1|GEMM 128x768x768, weight W[k,1,n]||30
a1|attention h12 seq128||30
a2|attention h12 seq512||10
a3|attention h1 seq8192 (one_pass)|--passes=cascade-one-pass|3
c1|causal attention h1 seq2048||5
b1|BERT layer seq128||10
b2|BERT layer seq512||3"
[ -z "$only" ] || W=$(grep -E -- "$only" <<<"$W" || true)
[ -n "$W" ] || { echo "compare.sh: --only '$only' matches no workload" >&2; exit 2; }

# measure BINARY ID FLAGS RUNS THREADS: prints the median ms (NA on failure).
measure() {
  local out
  # shellcheck disable=SC2086
  if out=$(OMP_NUM_THREADS=$5 "$1" run "$tmp/$2.ein" --target=host \
             --random-inputs --seed=1 --bench="$4" $3 2>/dev/null); then
    sed -n 's/^median_ms=//p' <<<"$out"
  else
    echo NA
  fi
}

declare -A T
for ((r = 0; r < rounds; r++)); do
  while IFS='|' read -r id label flags runs; do
    for t in 1 2; do
      if ((r % 2 == 0)); then order="old new"; else order="new old"; fi
      for which in $order; do
        exe=$old
        [ "$which" = new ] && exe=$new
        T[$id,$t,$which]="${T[$id,$t,$which]:-} $(measure "$exe" "$id" "$flags" "$runs" "$t")"
      done
    done
  done <<<"$W"
  echo "round $((r + 1))/$rounds done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | grep -v NA | sort -g | awk '{a[NR]=$1} END { if (NR == 0) print "NA"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
echo "CPU: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) CPUs; $rounds rounds, interleaved"
echo
echo "| workload | threads | old ms | new ms | old/new |"
echo "| --- | --- | --- | --- | --- |"
while IFS='|' read -r id label flags runs; do
  for t in 1 2; do
    o=$(median <<<"${T[$id,$t,old]}") n=$(median <<<"${T[$id,$t,new]}")
    ratio=$(awk -v o="$o" -v n="$n" 'BEGIN { if (o == "NA" || n == "NA") print "NA"; else printf "%.3f", o / n }')
    echo "| $label | $t | $o | $n | $ratio |"
  done
done <<<"$W"
