#!/usr/bin/env bash
# bench/webgpu.sh -- the WebGPU target on this machine's CPU adapters
# (issue 6's figures; regression numbers, not GPU claims). For each
# backend (SwiftShader Vulkan, llvmpipe GL ES), interleaved over rounds:
#   GEMM 256^3 and 1024x768x768: Cascade's generated kernels against a
#     naive one-invocation-per-output WGSL kernel (bench/webgpu/naive_gemm.mjs)
#     on the same adapter;
#   BERT-base attention (12 heads of 64, 1-pass) at seq 128 and the BERT-base
#     encoder layer at seq 128: Cascade alone.
# Times are dispatch-to-completion medians with the inputs on the device.
#
#   bench/webgpu.sh [--rounds N] [--runs N] [--backend vulkan|opengles]
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
cascade=${CASCADE:-$root/build/bin/cascade}
rounds=3 runs=5 backends="vulkan opengles"
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift ;;
    --runs) runs=$2; shift ;;
    --backend) backends=$2; shift ;;
    *) echo "usage: bench/webgpu.sh [--rounds N] [--runs N] [--backend vulkan|opengles]" >&2; exit 2 ;;
  esac
  shift
done
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ms_of() { grep -o 'median_ms=[0-9.e+-]*' | cut -d= -f2; }

# name|model|--set flags (GFLOP from `cascade analyze`)
workloads=(
  "gemm 256x256x256|matmul.ein|--set M=256 --set K=256 --set N=256"
  "gemm 1024x768x768|matmul.ein|--set M=1024 --set K=768 --set N=768"
  "mha 12x64 seq128|mha_3pass.ein|--set D=768 --set H=12 --set E=64 --set P=128"
  "bert layer seq128|bert_layer.ein|--set D=768 --set H=12 --set E=64 --set F=3072 --set P=128"
)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for backend in $backends; do
  export CASCADE_WEBGPU_BACKEND=$backend
  adapter=$(node "$bench/webgpu/naive_gemm.mjs" 16 16 16 1 | sed -n 's/^adapter=//p')
  echo "== $adapter"
  printf '%-24s %12s %10s %12s %10s\n' workload "cascade ms" "GFLOP/s" "naive ms" speedup
  for w in "${workloads[@]}"; do
    IFS='|' read -r name model flags <<<"$w"
    # shellcheck disable=SC2086
    gflop=$("$cascade" analyze "$root/examples/$model" $flags --json |
      /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["flops"] / 1e9)')
    : >"$tmp/c" ; : >"$tmp/n"
    for ((r = 0; r < rounds; r++)); do
      # shellcheck disable=SC2086
      "$cascade" run "$root/examples/$model" $flags --target=webgpu --random-inputs \
        --bench="$runs" 2>/dev/null | ms_of >>"$tmp/c"
      if [[ $name == gemm* ]]; then
        mapfile -t dims < <(echo "$flags" | grep -o '=[0-9]*' | tr -d =)
        node "$bench/webgpu/naive_gemm.mjs" "${dims[@]}" "$runs" | ms_of >>"$tmp/n"
      fi
    done
    c=$(median <"$tmp/c")
    if [ -s "$tmp/n" ]; then
      n=$(median <"$tmp/n")
      printf '%-24s %12.2f %10.2f %12.2f %9.2fx\n' "$name" "$c" \
        "$(echo "$gflop / $c * 1000" | bc -l)" "$n" "$(echo "$n / $c" | bc -l)"
    else
      printf '%-24s %12.2f %10.2f %12s %10s\n' "$name" "$c" \
        "$(echo "$gflop / $c * 1000" | bc -l)" - -
    fi
  done
done
