#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite: lit +
# FileCheck (frontend diagnostics, dialect, passes, targets, end-to-end
# examples, CLI, fuzzing) and the gtest unit tests. Ends with the line
# "N passed, N failed, N skipped"; exits non-zero if any test failed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CASCADE_BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

# The compiler libraries must build with the system compiler too (GCC 12 on
# bookworm), as the plain `cmake -S . -B build -G Ninja` does: built in a
# folder of their own, before the tests. CASCADE_SKIP_SYSTEM_CXX=1 skips it.
if [ "${CASCADE_SKIP_SYSTEM_CXX:-0}" != 1 ]; then
  sys="$build/system-cxx"
  if [ ! -f "$sys/build.ninja" ]; then
    cmake -S "$root" -B "$sys" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER=cc -DCMAKE_CXX_COMPILER=c++ > "$sys.log" 2>&1 ||
      { cat "$sys.log"; exit 1; }
  fi
  echo "test: building the compiler libraries with $(c++ --version | head -1)"
  cmake --build "$sys" -j "${CASCADE_JOBS:-2}" --target CascadeDialect \
    CascadeFrontend CascadeImport CascadeInterpreter CascadePasses CascadeTarget \
    CascadeTuner \
    > "$sys.log" 2>&1 || { tail -40 "$sys.log"; echo "test: the system compiler failed to build the compiler libraries"; exit 1; }
fi

log="$build/test-results.txt"
set +e
/usr/lib/llvm-22/bin/lit -sv --time-tests "$build/test" "$build/test/unit" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# lit pads the names when several kinds appear ("Passed     : 183").
count() { { grep -E "^ *$1 *: +[0-9]+" "$log" || true; } | sed -E 's/.*: +([0-9]+).*/\1/' | awk '{s += $1} END {print s + 0}'; }
passed=$(( $(count Passed) + $(count "Expectedly Failed") ))
failed=$(( $(count Failed) + $(count "Unexpectedly Passed") + $(count Unresolved) + $(count "Timed Out") ))
skipped=$(( $(count Unsupported) + $(count Skipped) + $(count Excluded) ))
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
