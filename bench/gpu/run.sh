#!/usr/bin/env bash
# bench/gpu/run.sh [CARRY] -- run ON the GPU machine (CUDA, nvcc/g++, CMake,
# PyTorch; no LLVM needed), after bench/gpu/prepare.sh wrote CARRY (default
# build/gpu-carry) here and it was carried over. One run does it all:
#  1. builds only the runtime (cmake -S runtime) and bench/gpu/harness.c;
#  2. runs every carried example on the GPU and compares each output with
#     its reference .npy (relative error <= 1e-4);
#  3. times the attention and GEMM models (device time, CUDA events, median
#     of RUNS) and PyTorch at the same shapes in the same run;
#  4. prints a table (Markdown) to paste into docs/performance.md.
# Exit: 0 when every example matched, 1 otherwise, 77 without a CUDA device.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
carry="${1:-$root/build/gpu-carry}"
runs="${RUNS:-20}"
work="${WORK:-$(mktemp -d)}"
[ -d "$carry/examples" ] || { echo "run.sh: no $carry/examples; run bench/gpu/prepare.sh first" >&2; exit 1; }

cmake -S "$root/runtime" -B "$work/rt" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
  cmake --build "$work/rt" -j8 >/dev/null || { echo "run.sh: runtime build failed" >&2; exit 1; }
cc -O2 -std=c99 -I"$root/runtime/include" "$root/bench/gpu/harness.c" \
  "$work/rt/lib/libcascade_runtime.a" -lstdc++ -ldl -lm -o "$work/harness" ||
  { echo "run.sh: harness build failed" >&2; exit 1; }

echo "## Correctness: every example on the GPU vs. its reference"
failed=0 passed=0
for dir in "$carry"/examples/*/; do
  "$work/harness" check "$dir"
  case $? in
    0) passed=$((passed + 1)) ;;
    77) echo "no CUDA device: skipped"; exit 77 ;;
    *) failed=$((failed + 1)) ;;
  esac
done
echo "$passed passed, $failed failed"

echo
echo "## Timings (ms, median of $runs; Cascade f32, device time)"
declare -A cascade_ms
for dir in "$carry"/bench/*/; do
  name=$(basename "$dir")
  line=$("$work/harness" time "$dir" "$runs" 2>&1)
  ms=$(echo "$line" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
  cascade_ms[$name]="${ms:-n/a}"
  [ -n "$ms" ] || echo "$name: $line" >&2
done
declare -A torch_ms
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  while read -r name variant ms; do
    torch_ms["$name/$variant"]=$ms
  done < <(python3 "$root/bench/gpu/torch_bench.py" "$runs")
else
  echo "PyTorch with CUDA not found: peer columns empty" >&2
fi
echo
echo "| workload | Cascade f32 | PyTorch f32 | PyTorch f16 | Cascade / PyTorch f32 |"
echo "| --- | ---: | ---: | ---: | ---: |"
for name in $(ls "$carry/bench" | sort -V); do
  c=${cascade_ms[$name]}
  case $name in
    attn*) f32=${torch_ms["$name/torch_sdpa_f32"]:-} f16=${torch_ms["$name/torch_flash_f16"]:-} ;;
    *) f32=${torch_ms["$name/torch_cublas_f32"]:-} f16=${torch_ms["$name/torch_cublas_f16"]:-} ;;
  esac
  ratio=$(python3 -c "print(f'{float(\"$f32\")/float(\"$c\"):.2f}x')" 2>/dev/null || echo n/a)
  echo "| $name | $c | ${f32:-n/a} | ${f16:-n/a} | $ratio |"
done
echo
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /'
date -u +"date: %Y-%m-%d"
[ "$failed" -eq 0 ]
