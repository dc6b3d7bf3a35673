#!/usr/bin/env bash
# Installs what building and testing Cascade needs on Debian bookworm.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build python3
  llvm-22-dev libmlir-22-dev mlir-22-tools clang-22 lld-22 llvm-22-tools
  libclang-rt-22-dev libomp-22-dev clang-format-22
  libfmt-dev libsqlite3-dev sqlite3 libgtest-dev
  # aarch64: the cross sysroot (libc, libstdc++, crt files) clang links
  # against, and qemu-user to run the programs.
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  # WebGPU: Chromium (its SwiftShader Vulkan driver runs Dawn on the CPU,
  # and the browser test), the Vulkan loader, and Mesa's EGL/GLES
  # (llvmpipe) for Dawn's GL backend.
  chromium libvulkan1 libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri
  # ONNX import: ONNX's C++ protobuf API, its backend node tests (the
  # conformance suite) and the Python package used to write test graphs;
  # the Python API and its tests.
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata python3-onnx
  python3-numpy python3-pytest pybind11-dev python3-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
# node and npm: the machine's own when present (node 20), else Debian's.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)

# The WebGPU runtime's node packages (Dawn), pinned by package-lock.json.
install_npm() {
  local dir="$root/runtime/webgpu"
  if [ -f "$dir/node_modules/webgpu/package.json" ] &&
    cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed"; then
    return
  fi
  echo "install-deps: npm ci in runtime/webgpu"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed"
}
root="$(cd "$(dirname "$0")/.." && pwd)"

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  install_npm
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# LLVM/MLIR 22 come from bookworm-security; a minimal system may lack it.
if ! apt-cache policy llvm-22-dev | grep -q "Candidate: [0-9]"; then
  echo "install-deps: llvm-22-dev not found; adding bookworm-security to apt sources"
  echo "deb http://deb.debian.org/debian-security bookworm-security main" |
    $sudo tee /etc/apt/sources.list.d/cascade-bookworm-security.list >/dev/null
  $sudo apt-get update -qq
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_npm
