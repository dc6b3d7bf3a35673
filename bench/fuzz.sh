#!/usr/bin/env bash
# Long run of the .ein frontend fuzzer (lexer, parser, model builder,
# verifier, .ein printer round trip, reference interpreter).
# Usage: bench/fuzz.sh [SECONDS]   (default 600; needs a clang build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fuzzer="$root/build/bin/cascade-parser-fuzzer"
seconds="${1:-600}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp "$root"/examples/*.ein "$root"/test/fuzz/corpus/* "$work/corpus/"
cd "$work"
"$fuzzer" corpus -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=4096 \
  -print_final_stats=1 2>&1 | grep -E "^(stat::|Done|==|SUMMARY)|crash|ERROR" || true
ls crash-* leak-* timeout-* oom-* 2>/dev/null && exit 1
echo "no crash"
