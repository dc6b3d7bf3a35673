#!/usr/bin/env bash
# bench/gpu/prepare.sh [OUT] -- run HERE (the machine with LLVM/MLIR 22):
# compiles everything bench/gpu/run.sh needs on a GPU machine, which has
# CUDA but no LLVM. OUT (default build/gpu-carry, about 2 MiB) holds
#   examples/NAME/  every example for sm_90: manifest, PTX, cubin, seeded
#                   inputs (.npy) and reference outputs (.npy, from the host
#                   CPU build, itself checked against the float64 reference
#                   interpreter with --check in the same run)
#   bench/NAME/     the timed models (attention: 16 heads, head dim 64,
#                   seq 1024/4096/16384, causal and not; GEMM 4096^3 and
#                   BERT-base shapes), without inputs (drawn on the device)
# Then carry OUT to the GPU machine and run bench/gpu/run.sh there.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/build/gpu-carry}"
cascade="$root/build/bin/cascade"
[ -x "$cascade" ] || { echo "prepare.sh: build first (build/bin/cascade)" >&2; exit 1; }
source "$root/bench/workloads.sh"
rm -rf "$out" && mkdir -p "$out/examples" "$out/bench"

for ein in "$root"/examples/*.ein; do
  name=$(basename "$ein" .ein)
  dir="$out/examples/$name"
  "$cascade" compile "$ein" --target=cuda --arch=sm_90 -o "$dir" >/dev/null
  "$cascade" run "$ein" --target=host --random-inputs --seed=7 --check \
    --output-dir "$dir/data" >"$dir/host-check.txt"
  echo "example $name: $(grep max_rel_err "$dir/host-check.txt")"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for seq in 1024 4096 16384; do
  gen_attention 16 64 "$seq" "$tmp/attn_s$seq.ein"
  gen_attention 16 64 "$seq" "$tmp/attn_causal_s$seq.ein" causal
done
gen_gemm 4096 4096 4096 "$tmp/gemm_4096.ein"
gen_gemm 128 768 768 "$tmp/gemm_128x768x768.ein"      # BERT-base QKV/out
gen_gemm 128 768 3072 "$tmp/gemm_128x768x3072.ein"    # BERT-base FFN up
gen_gemm 2048 4096 4096 "$tmp/gemm_2048x4096x4096.ein" # LLaMA-7B projection
for ein in "$tmp"/*.ein; do
  name=$(basename "$ein" .ein)
  "$cascade" compile "$ein" --target=cuda --arch=sm_90 -o "$out/bench/$name" >/dev/null
  echo "bench $name: $(grep -o '"scratch_bytes": [0-9]*' "$out/bench/$name/"*.json)"
done
du -sh "$out"
