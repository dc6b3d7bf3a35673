#!/usr/bin/env bash
# bench/models.sh -- whole models: the BERT-base encoder (examples/models/
# bert_base.ein, 12 layers) at seq 128 against ONNX Runtime on the same
# weights, its compile time, and optionally the TinyLlama-sized decoder.
#
#   bench/models.sh [--rounds N] [--runs N] [--llama]
#
# The weights are random, written by examples/models/bert_weights.py with
# the HF names; the ONNX graph (bench/onnx/models.mjs, bertEncoder) reads the
# same file. Cascade runs as the standalone executable `cascade compile
# --emit=exe` writes (--weights FILE), ONNX Runtime through onnxruntime-node
# (bench/setup.sh installs it); both at 1 and 2 threads, interleaved round by
# round; each figure is the median over rounds of each run's median. The two
# outputs are compared (norm-wise relative difference). Needs bench/setup.sh.
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
cascade=${CASCADE:-$root/build/bin/cascade}
rounds=3 runs=10 llama=0
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift ;;
    --runs) runs=$2; shift ;;
    --llama) llama=1 ;;
    *) echo "usage: bench/models.sh [--rounds N] [--runs N] [--llama]" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$cascade" ] || { echo "models.sh: $cascade missing (build first)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
clang=${CLANG:-clang-22}
"$clang" -O2 "$root/test/e2e/Inputs/npy_diff.c" -I"$root/runtime/include" \
  "$root/build/lib/libcascade_runtime.a" -lstdc++ -lm -ldl -o "$tmp/npy_diff"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
field() { sed -n "s/^$1=//p"; }

echo "== BERT-base encoder, 12 layers, seq 128 =="
python3 "$root/examples/models/bert_weights.py" "$tmp/bert.safetensors" --config base
ct=()
for i in 1 2 3; do
  s=$(date +%s.%N)
  "$cascade" compile "$root/examples/models/bert_base.ein" --emit=exe -o "$tmp/bert" >/dev/null
  ct+=("$(echo "$(date +%s.%N) - $s" | bc)")
done
compile_s=$(printf '%s\n' "${ct[@]}" | median)
layers=$("$cascade" opt "$root/examples/models/bert_base.ein" --emit=loops | grep -c "func.func private" || true)
exe="$tmp/bert/bert_base"
"$exe" --weights "$tmp/bert.safetensors" --random-inputs --seed=1 --output-dir "$tmp/in" >/dev/null
declare -A times
have_ort=1
[ -d "$bench/onnx/node_modules/onnxruntime-node" ] || { have_ort=0; echo "models.sh: onnxruntime-node missing (bench/setup.sh): Cascade only" >&2; }
for r in $(seq "$rounds"); do
  for t in 1 2; do
    m=$(OMP_NUM_THREADS=$t "$exe" --weights "$tmp/bert.safetensors" --input X="$tmp/in/X.npy" \
        --output-dir "$tmp/cascade-out" --bench="$runs" | field median_ms)
    times[cascade$t]+="$m "
    if [ $have_ort = 1 ]; then
      m=$(OMP_NUM_THREADS=$t node "$bench/onnx/bench.mjs" "bert-encoder:$tmp/bert.safetensors:128" \
          "$t" "$runs" --inputs "$tmp/in" --output "$tmp/ort.npy" | field median_ms)
      times[ort$t]+="$m "
    fi
  done
done
flops=$(( 12 * (2*128*768*768*4 + 2*2*128*768*3072 + 2*2*128*128*768) ))
echo
echo "| threads | Cascade ms | Cascade GFLOP/s | ORT ms | Cascade vs ORT |"
echo "|---:|---:|---:|---:|---:|"
for t in 1 2; do
  c=$(echo ${times[cascade$t]} | tr ' ' '\n' | median)
  if [ $have_ort = 1 ]; then
    o=$(echo ${times[ort$t]} | tr ' ' '\n' | median)
    ratio=$(printf '%.2f' "$(echo "$o / $c" | bc -l)")
    o=$(printf '%.1f' "$o")
  else o=n/a ratio=n/a; fi
  printf '| %d | %.1f | %.0f | %s | %sx |\n' "$t" "$c" "$(echo "$flops / $c / 1000000" | bc -l)" "$o" "$ratio"
done
echo
printf 'compile (cascade compile --emit=exe, median of 3): %.2f s; layer functions: %s for 12 calls\n' "$compile_s" "$layers"
if [ $have_ort = 1 ]; then
  echo "Cascade vs ONNX Runtime output: $("$tmp/npy_diff" "$tmp/ort.npy" "$tmp/cascade-out/X12.npy" 1e-4 || echo 'DIFFERS')"
fi

if [ $llama = 1 ]; then
  echo
  echo "== LLaMA decoder, TinyLlama-1.1B shapes (22 layers), prompt of 128, bf16 weights =="
  python3 "$root/examples/models/llama_weights.py" "$tmp/llama.safetensors" --dtype bf16 --tables "$tmp/rope"
  s=$(date +%s.%N)
  "$cascade" compile "$root/examples/models/llama.ein" --emit=exe -o "$tmp/llama" >/dev/null
  printf 'compile: %.2f s\n' "$(echo "$(date +%s.%N) - $s" | bc)"
  "$tmp/llama/llama" --weights "$tmp/llama.safetensors" --random-inputs --seed=1 \
    --input COS="$tmp/rope/COS.npy" --input SIN="$tmp/rope/SIN.npy" --output-dir "$tmp/lin" >/dev/null
  for t in 1 2; do
    m=$(OMP_NUM_THREADS=$t "$tmp/llama/llama" --weights "$tmp/llama.safetensors" --input X="$tmp/lin/X.npy" \
        --input COS="$tmp/rope/COS.npy" --input SIN="$tmp/rope/SIN.npy" --output-dir "$tmp/lout" --bench=3 | field median_ms)
    echo "threads $t: $m ms (about 270 GFLOP)"
  done
fi
