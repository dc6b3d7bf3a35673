#!/usr/bin/env bash
# Configures and builds Cascade in build/ (Release, clang-22, lld, -j2).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CASCADE_BUILD_DIR:-$root/build}"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld
fi
cmake --build "$build" -j "${CASCADE_JOBS:-2}"
