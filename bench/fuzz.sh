#!/usr/bin/env bash
# Long runs of the libFuzzer targets:
#   parser       the .ein frontend (lexer, parser, model builder, verifier,
#                .ein printer round trip, reference interpreter)
#   safetensors  the runtime's safetensors weights loader
#   onnx         the ONNX importer (seeded with ONNX's node test models)
# Usage: bench/fuzz.sh [SECONDS] [parser|safetensors|onnx]
#        (default 600 seconds, parser; needs a clang build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-600}"
target="${2:-parser}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
case "$target" in
  parser)
    fuzzer="$root/build/bin/cascade-parser-fuzzer"
    cp "$root"/examples/*.ein "$root"/test/fuzz/corpus/* "$work/corpus/" ;;
  safetensors)
    fuzzer="$root/build/bin/cascade-safetensors-fuzzer"
    for c in good empty short badlen hugelen badjson notobject nul baddtype badshape \
             badoffsets pastend sizemismatch overlap int8; do
      python3 "$root/test/e2e/Inputs/safetensors.py" "$work/corpus/$c" "$c"
    done ;;
  onnx)
    fuzzer="$root/build/bin/cascade-onnx-fuzzer"
    /usr/bin/python3 "$root/test/onnx/Inputs/make_models.py" "$work/m"
    cp "$work"/m/*.onnx "$work/corpus/"
    for d in /usr/share/libonnx-testdata/data/node/test_*; do
      cp "$d/model.onnx" "$work/corpus/$(basename "$d").onnx"
    done ;;
  *) echo "usage: bench/fuzz.sh [SECONDS] [parser|safetensors|onnx]" >&2; exit 2 ;;
esac
cd "$work"
"$fuzzer" corpus -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 \
  -print_final_stats=1 2>&1 | grep -E "^(stat::|Done|==|SUMMARY)|crash|ERROR" || true
ls crash-* leak-* timeout-* oom-* 2>/dev/null && exit 1
echo "no crash"
