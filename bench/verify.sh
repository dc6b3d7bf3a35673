#!/usr/bin/env bash
# Checks that the peers compute what the Cascade models compute, on the same
# values, at full size: GEMM (128,768,768), attention (12 heads, seq 128) and
# the BERT-base layer (seq 128).  Prints the norm-wise relative error of each
# peer's output against Cascade's.  Not a test (it needs the peers installed
# by bench/setup.sh); run.sh --verify runs it before timing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bench="$root/bench"
bin="$bench/build"
cascade="${CASCADE:-$root/build/bin/cascade}"
make -s -C "$bench" >/dev/null
. "$bench/workloads.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
have_ort=0
[ -d "$bench/onnx/node_modules/onnxruntime-node" ] && have_ort=1
status=0
check() { # name reference.npy candidate.npy
  local e
  e=$("$bin/npy_compare" "$3" "$2" | sed 's/rel_err=//')
  printf '%-34s rel_err=%s\n' "$1" "$e"
  awk -v e="$e" 'BEGIN { exit !(e < 1e-4) }' || { echo "  ^ differs from Cascade" >&2; status=1; }
}

gen_gemm 128 768 768 "$tmp/gemm.ein"
"$cascade" run "$tmp/gemm.ein" --random-inputs --seed=1 --output-dir "$tmp/gemm" >/dev/null
"$bin/openblas_gemm" 128 768 768 1 1 --inputs "$tmp/gemm" --output "$tmp/gemm_blas.npy" >/dev/null
check "gemm 128x768x768 openblas" "$tmp/gemm/C.npy" "$tmp/gemm_blas.npy"
if [ -x "$bin/onednn_gemm" ]; then
  "$bin/onednn_gemm" 128 768 768 1 1 --inputs "$tmp/gemm" --output "$tmp/gemm_dnnl.npy" >/dev/null
  check "gemm 128x768x768 onednn" "$tmp/gemm/C.npy" "$tmp/gemm_dnnl.npy"
fi
if [ $have_ort = 1 ]; then
  node "$bench/onnx/bench.mjs" gemm:128:768:768 1 1 --inputs "$tmp/gemm" --output "$tmp/gemm_ort.npy" >/dev/null
  check "gemm 128x768x768 onnxruntime" "$tmp/gemm/C.npy" "$tmp/gemm_ort.npy"
fi

gen_attention 12 64 128 "$tmp/att.ein"
"$cascade" run "$tmp/att.ein" --random-inputs --seed=1 --output-dir "$tmp/att" >/dev/null
"$bin/openblas_attention" 12 64 128 1 1 --inputs "$tmp/att" --output "$tmp/att_blas.npy" >/dev/null
check "attention h12 seq128 openblas" "$tmp/att/AV.npy" "$tmp/att_blas.npy"
if [ $have_ort = 1 ]; then
  node "$bench/onnx/bench.mjs" attention:12:64:128 1 1 --inputs "$tmp/att" --output "$tmp/att_ort.npy" >/dev/null
  check "attention h12 seq128 onnxruntime" "$tmp/att/AV.npy" "$tmp/att_ort.npy"
fi

gen_bert 128 "$tmp/bert.ein"
flags=$(gen_bert_inputs 128 "$tmp/bert_in")
# shellcheck disable=SC2086
"$cascade" run "$tmp/bert.ein" $flags --output-dir "$tmp/bert" >/dev/null
"$bin/openblas_bert" 128 1 1 --inputs "$tmp/bert_in" --output "$tmp/bert_blas.npy" >/dev/null
check "bert layer seq128 openblas" "$tmp/bert/Y.npy" "$tmp/bert_blas.npy"
if [ $have_ort = 1 ]; then
  node "$bench/onnx/bench.mjs" bert:128 1 1 --inputs "$tmp/bert_in" --output "$tmp/bert_ort.npy" >/dev/null
  check "bert layer seq128 onnxruntime" "$tmp/bert/Y.npy" "$tmp/bert_ort.npy"
fi
exit $status
