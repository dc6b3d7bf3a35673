#!/usr/bin/env bash
# setup.sh -- installs what the benchmark peers need, then builds them.
# Idempotent: installs only what is missing, so it is cheap to run again.
#
#   apt: libopenblas-openmp-dev (OpenBLAS's OpenMP build: one thread pool with
#        the peers' own OpenMP loops), libdnnl-dev (oneDNN 2.x, OpenMP runtime:
#        the GEMM rows' strongest fp32 peer), libhalide14-0-dev (Halide 14, linked by
#        hand into bench/build/halide_gemm), nodejs + npm, gcc/g++/make
#   npm: onnxruntime-node 1.30.0 and onnx-proto into bench/onnx/node_modules
#        (pinned by bench/onnx/package-lock.json; ONNXRUNTIME_NODE_INSTALL=skip
#        because its install script otherwise tries to download CUDA binaries)
#
# Usage: bench/setup.sh [--no-halide]
set -euo pipefail
bench="$(cd "$(dirname "$0")" && pwd)"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

pkgs="libopenblas-openmp-dev libdnnl-dev gcc g++ make"
[ "${1:-}" = --no-halide ] || pkgs="$pkgs libhalide14-0-dev"
command -v node >/dev/null || pkgs="$pkgs nodejs"
command -v npm >/dev/null || pkgs="$pkgs npm"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup.sh: apt-get install$missing"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

ort_version() {
  node -e 'console.log(require(process.argv[1]).version)' \
    "$bench/onnx/node_modules/onnxruntime-node/package.json" 2>/dev/null || true
}
if [ "$(ort_version)" != 1.30.0 ] || ! [ -d "$bench/onnx/node_modules/onnx-proto" ]; then
  echo "setup.sh: npm ci in bench/onnx"
  (cd "$bench/onnx" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
fi

make -s -C "$bench"
echo "setup.sh: ready (bench/run.sh runs the benchmarks)"
