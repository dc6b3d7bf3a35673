#!/usr/bin/env bash
# Installs the dependencies, builds, then compiles the BERT-style encoder
# layer of examples/ for this machine, runs it on seeded random inputs and
# weights, checks it against the float64 reference interpreter and prints
# the time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CASCADE_BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
model="${1:-$root/examples/bert_layer.ein}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$build/bin/cascade" compile "$model" --target=host -o "$out/artifact"
"$build/bin/cascade" run "$model" --target=host --random-inputs --seed=1 \
  --check --bench=20
