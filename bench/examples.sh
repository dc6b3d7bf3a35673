#!/usr/bin/env bash
# Times every example on this machine: median of N runs after a warm-up.
# Usage: bench/examples.sh [N]   (needs a build: ./scripts/build.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cascade="${CASCADE:-$root/build/bin/cascade}"
runs="${1:-20}"
printf '%-28s %12s %14s\n' model median_ms scratch_bytes
for f in "$root"/examples/*.ein; do
  out=$("$cascade" run "$f" --target=host --random-inputs --seed=1 --bench="$runs")
  ms=$(sed -n 's/^median_ms=//p' <<<"$out")
  scratch=$(sed -n 's/^scratch_bytes=//p' <<<"$out")
  printf '%-28s %12s %14s\n' "$(basename "$f" .ein)" "$ms" "$scratch"
done
