#!/usr/bin/env bash
# bench/onnx-import.sh -- Cascade on imported ONNX graphs against ONNX
# Runtime on the same files: the benchmark's BERT layer (post-LN, GELU) and
# a GPT-2 block (pre-LN, causal mask, tanh-GELU), BERT-base/GPT-2-small
# sizes at seq 128 (bench/onnx/models.mjs writes them as torch.onnx does).
# The hand-written examples/bert_layer.ein at the same sizes runs beside
# them: an imported graph should run at its speed. Cascade runs the .onnx
# through `cascade run --bench`, ONNX Runtime through onnxruntime-node;
# both at 1 and 2 threads, interleaved round by round; each figure is the
# median over rounds of each run's median. Outputs are compared with ONNX
# Runtime's (norm-wise relative error). Needs bench/setup.sh.
#
#   bench/onnx-import.sh [--rounds N] [--runs N] [--seq P]
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
cascade=${CASCADE:-$root/build/bin/cascade}
rounds=3 runs=10 seq=128
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift ;;
    --runs) runs=$2; shift ;;
    --seq) seq=$2; shift ;;
    *) echo "usage: bench/onnx-import.sh [--rounds N] [--runs N] [--seq P]" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$cascade" ] || { echo "onnx-import.sh: $cascade missing (build first)" >&2; exit 1; }
[ -d "$bench/onnx/node_modules/onnxruntime-node" ] ||
  { echo "onnx-import.sh: onnxruntime-node missing (run bench/setup.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
field() { sed -n "s/^$1=//p"; }

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; seq $seq"
for w in bert gpt2; do
  mkdir -p "$tmp/$w"
  node "$bench/onnx/bench.mjs" "$w:$seq" 1 1 --save "$tmp/$w.onnx" --save-inputs "$tmp/$w" \
    --output "$tmp/$w.ort.npy" > /dev/null
  "$cascade" run "$tmp/$w.onnx" --no-tuning-db --input X="$tmp/$w/X.npy" --output-dir "$tmp/$w.out" > /dev/null
  echo "$w: Cascade vs ONNX Runtime output: $(/usr/bin/python3 "$root/test/onnx/Inputs/compare.py" \
    "$tmp/$w.out/Y.npy" "$tmp/$w.ort.npy" --reshape)"
done
bert_ein=(--set D=768 --set H=12 --set E=64 --set F=3072 --set P=$seq --set M=$seq)
declare -A times
for r in $(seq "$rounds"); do
  for t in 1 2; do
    for w in bert gpt2; do
      m=$(OMP_NUM_THREADS=$t "$cascade" run "$tmp/$w.onnx" --no-tuning-db --input X="$tmp/$w/X.npy" \
          --bench="$runs" | field median_ms)
      times[cascade-$w-$t]+="$m "
      # The same graph and input: bench.mjs draws them from a fixed seed.
      m=$(node "$bench/onnx/bench.mjs" "$w:$seq" "$t" "$runs" | field median_ms)
      times[ort-$w-$t]+="$m "
    done
    m=$(OMP_NUM_THREADS=$t "$cascade" run "$root/examples/bert_layer.ein" "${bert_ein[@]}" --no-tuning-db \
        --random-inputs --bench="$runs" | field median_ms)
    times[ein-bert-$t]+="$m "
  done
done
echo
echo "| model | threads | Cascade (.onnx) ms | ONNX Runtime ms | Cascade vs ORT | hand-written .ein ms | .onnx vs .ein |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for w in bert gpt2; do
  for t in 1 2; do
    c=$(echo ${times[cascade-$w-$t]} | tr ' ' '\n' | median)
    o=$(echo ${times[ort-$w-$t]} | tr ' ' '\n' | median)
    if [ $w = bert ]; then
      e=$(echo ${times[ein-bert-$t]} | tr ' ' '\n' | median)
      es=$(printf '%.1f' "$e"); er=$(printf '%.2fx' "$(echo "$c / $e" | bc -l)")
    else es=-; er=-; fi
    printf '| %s | %d | %.1f | %.1f | %.2fx | %s | %s |\n' "$w" "$t" "$c" "$o" \
      "$(echo "$o / $c" | bc -l)" "$es" "$er"
  done
done
