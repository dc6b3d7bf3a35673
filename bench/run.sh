#!/usr/bin/env bash
# run.sh -- Cascade against its peers, side by side in one run, as
# ../shared/spec/PERFORMANCE.md describes (see bench/README.md).
#
#   bench/run.sh [--quick] [--rounds N] [--only REGEX] [--no-onnx] [--no-halide] [--no-onednn]
#                [--verify] [--raw FILE] [--wait-idle SECONDS]
#                [--cascade-passes PIPELINE]
#   bench/run.sh --report FILE      # print the table again from a --raw file
#
# 1. builds the peers (make -C bench; bench/setup.sh installs the libraries),
# 2. measures the machine's limits (bench/peak: FMA GFLOP/s, triad GB/s),
# 3. times `cascade compile` of the full-size BERT layer (wall clock),
# 4. runs every workload's contenders interleaved, A B C A B C ..., for
#    several rounds (the starting contender rotates each round), one library
#    per process: `cascade run --bench=N` (OMP_NUM_THREADS: its runtime's
#    OpenMP pool), OpenBLAS (OpenMP build), ONNX Runtime (node) and Halide
#    (GEMM), each at 1 and 2 threads,
# 5. prints one table (markdown) of the medians over the rounds: ms, GFLOP/s,
#    % of the measured FMA peak, and the ratio to each peer.
#
# --quick: 1 round, fewer timed runs per process, no long-context row (~2 min).
# Default: 5 rounds (~8-10 min on the 2-core development machines, quiet).
# --cascade-passes P: pass --passes=P to every `cascade run` (e.g.
# cascade-one-pass), to time a rewrite before it is on by default.
#
# The machines are shared: every measurement records how much of the CPUs
# other processes took meanwhile; a disturbed one (over 30%) is retried after
# waiting for quiet (--wait-idle S also waits up to S s before starting), and
# a cell is the median of its undisturbed rounds (marked * when it had none).
# The cascade binary is copied at the start, so that a rebuild during the run
# cannot mix two compilers in one table.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bench="$root/bench"
bin="$bench/build"
cascade="${CASCADE:-$root/build/bin/cascade}"
DISTURBED=30 # % of the machine taken by others that makes a measurement disturbed

quick=0 rounds="" only="" use_onnx=1 use_halide=1 use_onednn=1 verify=0 raw="" wait_idle=0
report_only="" passes=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --rounds) rounds="$2"; shift ;;
    --rounds=*) rounds="${1#*=}" ;;
    --only) only="$2"; shift ;;
    --only=*) only="${1#*=}" ;;
    --no-onnx) use_onnx=0 ;;
    --no-halide) use_halide=0 ;;
    --no-onednn) use_onednn=0 ;;
    --verify) verify=1 ;;
    --raw) raw="$2"; shift ;;
    --raw=*) raw="${1#*=}" ;;
    --wait-idle) wait_idle="$2"; shift ;;
    --wait-idle=*) wait_idle="${1#*=}" ;;
    --cascade-passes) passes="$2"; shift ;;
    --cascade-passes=*) passes="${1#*=}" ;;
    --report) report_only="$2"; shift ;;
    --report=*) report_only="${1#*=}" ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$rounds" ] || rounds=$([ $quick = 1 ] && echo 1 || echo 5)
. "$bench/workloads.sh"

# ==== the report: everything it prints comes from the raw file =================
# Raw file: one line per measurement, "id<TAB>who<TAB>threads<TAB>round<TAB>ms
# scratch other%", and meta lines "#key<TAB>value".
report() {
  local raw=$1
  meta() { awk -F'\t' -v k="#$1" '$1 == k { print $2 }' "$raw"; }
  local peak_out PEAK1 PEAK2 use_onnx use_halide use_onednn
  peak_out=$(meta peak)
  pk() { sed -n "s/^$1=//p" <<<"$peak_out" | sort -g | tail -1; }
  fmax() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
  PEAK1=$(fmax "$(pk fma_avx512_t1_gflops)" "$(pk fma_avx2_t1_gflops)")
  PEAK2=$(fmax "$(pk fma_avx512_t2_gflops)" "$(pk fma_avx2_t2_gflops)")
  use_onnx=$(awk -F'\t' '$2 == "ort"' "$raw" | grep -c . || true)
  use_halide=$(awk -F'\t' '$2 == "halide"' "$raw" | grep -c . || true)
  use_onednn=$(awk -F'\t' '$2 == "onednn"' "$raw" | grep -c . || true)

  # median over the undisturbed rounds (over all rounds when none is)
  med() {
    awk -F'\t' -v id="$1" -v w="$2" -v t="$3" -v lim=$DISTURBED '
      $1 == id && $2 == w && $3 == t { split($5, f, " "); if (f[1] == "NA") next
        if (f[3] <= lim) clean[++nc] = f[1]; all[++na] = f[1] }
      END { if (nc) for (i = 1; i <= nc; ++i) print clean[i]; else for (i = 1; i <= na; ++i) print all[i] }' "$raw" |
      sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "NA"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
  }
  mark() { # "*": no undisturbed measurement in this cell
    awk -F'\t' -v id="$1" -v w="$2" -v t="$3" -v lim=$DISTURBED '
      $1 == id && $2 == w && $3 == t { split($5, f, " "); n++; if (f[3] <= lim) c++ }
      END { if (n && !c) printf "*" }' "$raw"
  }
  scratch() {
    awk -F'\t' -v id="$1" '$1 == id && $2 == "cascade" { split($5, f, " "); if (f[2] != "NA") s = f[2] } END { print s ? s : "NA" }' "$raw"
  }
  fmt_ms() { awk -v v="$1" 'BEGIN { if (v == "NA") print "-"; else if (v < 10) printf "%.3f", v; else if (v < 1000) printf "%.1f", v; else printf "%.0f", v }'; }
  gfs() { awk -v f="$1" -v ms="$2" -v pk="$3" 'BEGIN { if (ms == "NA") print "-"; else { g = f / ms / 1e6; printf "%.1f (%.0f%%)", g, 100 * g / pk } }'; }
  ratio() { awk -v c="$1" -v p="$2" 'BEGIN { if (c == "NA" || p == "NA") print "-"; else printf "%.2fx", p / c }'; }

  local total disturbed cells_all_disturbed
  total=$(grep -vc '^#' "$raw" || true)
  disturbed=$(awk -F'\t' -v lim=$DISTURBED '!/^#/ { split($5, f, " "); if (f[3] > lim) n++ } END { print n + 0 }' "$raw")

  local hdr="| workload | thr | Cascade ms | OpenBLAS ms" sep="| --- | ---: | ---: | ---:"
  [ "$use_onnx" -gt 0 ] && hdr="$hdr | ORT ms" && sep="$sep | ---:"
  [ "$use_halide" -gt 0 ] && hdr="$hdr | Halide ms" && sep="$sep | ---:"
  [ "$use_onednn" -gt 0 ] && hdr="$hdr | oneDNN ms" && sep="$sep | ---:"
  hdr="$hdr | Cascade GFLOP/s (% peak) | OpenBLAS GFLOP/s (% peak)"; sep="$sep | ---: | ---:"
  [ "$use_onnx" -gt 0 ] && hdr="$hdr | ORT GFLOP/s (% peak)" && sep="$sep | ---:"
  [ "$use_halide" -gt 0 ] && hdr="$hdr | Halide GFLOP/s (% peak)" && sep="$sep | ---:"
  [ "$use_onednn" -gt 0 ] && hdr="$hdr | oneDNN GFLOP/s (% peak)" && sep="$sep | ---:"
  hdr="$hdr | Cascade vs OpenBLAS"; sep="$sep | ---:"
  [ "$use_onnx" -gt 0 ] && hdr="$hdr | vs ORT" && sep="$sep | ---:"
  [ "$use_halide" -gt 0 ] && hdr="$hdr | vs Halide" && sep="$sep | ---:"
  [ "$use_onednn" -gt 0 ] && hdr="$hdr | vs oneDNN" && sep="$sep | ---:"
  hdr="$hdr | Cascade scratch |"; sep="$sep | ---: |"

  echo "## Cascade vs peers ($(meta date))"
  echo
  echo "- machine: $(meta machine); $(meta cascade)"
  pkn() { local v; v=$(pk "$1"); echo "${v:-n/a}"; } # n/a: no AVX-512 here
  echo "- measured peak (bench/peak, best of 5 at the start and 5 at the end): FMA $(pkn fma_avx512_t1_gflops) GFLOP/s AVX-512 / $(pk fma_avx2_t1_gflops) AVX2 on 1 thread, $(pkn fma_avx512_t2_gflops) / $(pk fma_avx2_t2_gflops) on 2; triad $(pk triad_t1_gbs) GB/s (1 thread), $(pk triad_t2_gbs) GB/s (2). % peak below is of $PEAK1 (1 thread) and $PEAK2 (2 threads) GFLOP/s."
  echo "- $(meta rounds) round(s), contenders interleaved; a cell is the median, over its undisturbed rounds, of each process's median. CPU busy before/after: $(meta busy); measurements disturbed by other processes (>${DISTURBED}% of the machine) even after retries: $disturbed of $total$(awk -F'\t' -v lim=$DISTURBED '!/^#/ { split($5, f, " "); k = $1 " " $2 " " $3; n[k]++; if (f[3] <= lim) c[k]++ } END { for (k in n) if (!c[k]) m++; if (m) printf "; %d cell(s) had no undisturbed round (marked *, unreliable)", m }' "$raw")."
  echo "- \`cascade compile\` of the full-size BERT layer (seq 128): $(meta compile) s wall (median of 3)."
  [ -z "$(meta passes)" ] || echo "- Cascade ran with \`--passes=$(meta passes)\`."
  echo "- 'vs' columns: Cascade's speed relative to the peer at the same thread count (peer ms / Cascade ms; above 1 = Cascade faster). Threads: OMP_NUM_THREADS for Cascade's runtime, OpenBLAS and oneDNN, intra-op threads for ORT, HL_NUM_THREADS for Halide."
  echo
  echo "$hdr"
  echo "$sep"
  local id label kind params cn pn t c ob on hl dn row pkv sc flops p
  while IFS='|' read -r id label kind params cn pn; do
    p=($params)
    case $kind in
      gemm) flops=$(flops_gemm "${p[@]}") ;;
      attention|attention1) flops=$(flops_attention "${p[@]}") ;;
      bert) flops=$(flops_bert "${p[0]}") ;;
    esac
    for t in 1 2; do
      pkv=$([ $t = 1 ] && echo "$PEAK1" || echo "$PEAK2")
      c=$(med "$id" cascade $t)
      ob=$(med "$id" openblas $t)
      row="| $label | $t | $(fmt_ms "$c")$(mark "$id" cascade $t) | $(fmt_ms "$ob")$(mark "$id" openblas $t)"
      if [ "$use_onnx" -gt 0 ]; then on=$(med "$id" ort $t); row="$row | $(fmt_ms "$on")$(mark "$id" ort $t)"; fi
      if [ "$use_halide" -gt 0 ]; then hl=$(med "$id" halide $t); row="$row | $(fmt_ms "$hl")$(mark "$id" halide $t)"; fi
      if [ "$use_onednn" -gt 0 ]; then dn=$(med "$id" onednn $t); row="$row | $(fmt_ms "$dn")$(mark "$id" onednn $t)"; fi
      row="$row | $(gfs "$flops" "$c" "$pkv") | $(gfs "$flops" "$ob" "$pkv")"
      [ "$use_onnx" -gt 0 ] && row="$row | $(gfs "$flops" "$on" "$pkv")"
      [ "$use_halide" -gt 0 ] && row="$row | $(gfs "$flops" "$hl" "$pkv")"
      [ "$use_onednn" -gt 0 ] && row="$row | $(gfs "$flops" "$dn" "$pkv")"
      row="$row | $(ratio "$c" "$ob")"
      [ "$use_onnx" -gt 0 ] && row="$row | $(ratio "$c" "$on")"
      [ "$use_halide" -gt 0 ] && row="$row | $(ratio "$c" "$hl")"
      [ "$use_onednn" -gt 0 ] && row="$row | $(ratio "$c" "$dn")"
      sc=$(scratch "$id")
      row="$row | $([ "$sc" = NA ] && echo - || awk -v b="$sc" 'BEGIN { printf "%.1f MiB", b / 1048576 }') |"
      echo "$row"
    done
  done < <(meta workload)
  echo
  echo "Time of the rounds: $(meta seconds) s."
}

if [ -n "$report_only" ]; then
  report "$report_only"
  exit 0
fi

# ==== measuring ================================================================
[ -x "$cascade" ] || { echo "run.sh: no $cascade (build the project first)" >&2; exit 1; }
make -s -C "$bench" >/dev/null
[ -x "$bin/openblas_gemm" ] || { echo "run.sh: peers not built; run bench/setup.sh" >&2; exit 1; }
if [ $use_onnx = 1 ] && ! [ -d "$bench/onnx/node_modules/onnxruntime-node" ]; then
  echo "run.sh: onnxruntime-node missing (bench/setup.sh); skipping ONNX Runtime" >&2
  use_onnx=0
fi
if ! [ -x "$bin/onednn_gemm" ]; then
  echo "run.sh: oneDNN missing (bench/setup.sh); skipping oneDNN" >&2
  use_onednn=0
fi
if [ $use_halide = 1 ] && ! [ -x "$bin/halide_gemm" ]; then
  echo "run.sh: Halide 14 missing (bench/setup.sh); skipping Halide" >&2
  use_halide=0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
cascade_built=$(date -u -r "$cascade" '+%Y-%m-%d %H:%M UTC')
cp "$cascade" "$tmp/bin/cascade"
cascade="$tmp/bin/cascade"
[ -n "$raw" ] || raw="$tmp/raw.tsv"
: >"$raw"
meta_put() { printf '#%s\t%s\n' "$1" "$2" >>"$raw"; }

# Percentage of CPU time used (by anyone) over one second.
cpu_busy() {
  local a b
  a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
  local tot=0 i
  for i in 1 2 3 4 5 6 7 8; do tot=$((tot + b[i] - a[i])); done
  local idle=$((b[4] - a[4] + b[5] - a[5]))
  echo $((tot > 0 ? 100 * (tot - idle) / tot : 0))
}
busy_before=$(cpu_busy)
if [ "$wait_idle" -gt 0 ]; then
  end=$((SECONDS + wait_idle))
  while [ "$busy_before" -gt 10 ] && [ $SECONDS -lt $end ]; do busy_before=$(cpu_busy); done
fi

meta_put date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta_put machine "$(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) CPUs"
meta_put rounds "$rounds"
meta_put passes "$passes"
# The machine's limits, measured at the start and again at the end; the
# report takes the better of the two (another process can only lower a peak).
"$bin/peak" 5 | while read -r l; do meta_put peak "$l"; done

# ---- workloads --------------------------------------------------------------
# id | label | kind | params | Cascade --bench N | peer runs per process
wl() { echo "$1|$2|$3|$4|$5|$6"; }
if [ $quick = 1 ]; then
  W="$(wl g1 'GEMM 128x768x768' gemm '128 768 768' 5 30)
$(wl g2 'GEMM 128x768x3072' gemm '128 768 3072' 3 10)
$(wl g3 'GEMM 128x3072x768' gemm '128 3072 768' 3 10)
$(wl g4 'GEMM 512x768x768' gemm '512 768 768' 3 10)
$(wl g5 'GEMM 1024^3' gemm '1024 1024 1024' 1 5)
$(wl a1 'attention h12 seq128' attention '12 64 128' 10 30)
$(wl a2 'attention h12 seq512' attention '12 64 512' 3 10)
$(wl b1 'BERT layer seq128' bert 128 3 10)
$(wl b2 'BERT layer seq512' bert 512 1 3)"
else
  W="$(wl g1 'GEMM 128x768x768' gemm '128 768 768' 20 100)
$(wl g2 'GEMM 128x768x3072' gemm '128 768 3072' 10 30)
$(wl g3 'GEMM 128x3072x768' gemm '128 3072 768' 10 30)
$(wl g4 'GEMM 512x768x768' gemm '512 768 768' 10 30)
$(wl g5 'GEMM 1024^3' gemm '1024 1024 1024' 3 15)
$(wl a1 'attention h12 seq128' attention '12 64 128' 20 100)
$(wl a2 'attention h12 seq512' attention '12 64 512' 5 30)
$(wl a3 'attention h1 seq8192 (Cascade: one_pass rewrite)' attention1 '1 64 8192' 1 3)
$(wl b1 'BERT layer seq128' bert 128 5 30)
$(wl b2 'BERT layer seq512' bert 512 3 8)"
fi
[ -z "$only" ] || W=$(grep -E -- "$only" <<<"$W" || true)
[ -n "$W" ] || { echo "run.sh: --only '$only' matches no workload" >&2; exit 2; }
while read -r l; do meta_put workload "$l"; done <<<"$W"

# Models and inputs, once.
declare -A EIN CFLAGS PARAMS KIND
while IFS='|' read -r id label kind params cn pn; do
  set -- $params
  KIND[$id]=$kind PARAMS[$id]="$params" CFLAGS[$id]="--random-inputs --seed=1"
  case $kind in
    gemm) gen_gemm "$1" "$2" "$3" "$tmp/$id.ein" ;;
    attention) gen_attention "$1" "$2" "$3" "$tmp/$id.ein" ;;
    # Long context: the 3-pass cascade, rewritten by Cascade into the fused
    # 1-pass loop (scores never materialized).
    attention1) gen_attention "$1" "$2" "$3" "$tmp/$id.ein"
                CFLAGS[$id]="${CFLAGS[$id]} --passes=cascade-one-pass" ;;
    bert) gen_bert "$1" "$tmp/$id.ein"; CFLAGS[$id]=$(gen_bert_inputs "$1" "$tmp/${id}_in") ;;
  esac
  # One --passes per run (cascade keeps the last): add the user's pipeline
  # to the one a workload already has.
  if [ -n "$passes" ]; then
    case "${CFLAGS[$id]}" in
      *--passes=*) CFLAGS[$id]=$(sed "s|--passes=|--passes=$passes,|" <<<"${CFLAGS[$id]}") ;;
      *) CFLAGS[$id]="${CFLAGS[$id]} --passes=$passes" ;;
    esac
  fi
  EIN[$id]="$tmp/$id.ein"
done <<<"$W"

if [ $verify = 1 ]; then
  echo "## Peers against Cascade (same values, full size)"
  echo '```'
  CASCADE="$cascade" "$bench/verify.sh" || echo "verify.sh: some peer differs from Cascade (see above)"
  echo '```'
fi

# ---- cascade compile of the full-size BERT layer (wall clock) ---------------
gen_bert 128 "$tmp/compile_bert.ein"
ct=()
for i in 1 2 3; do
  t0=$(date +%s.%N)
  # shellcheck disable=SC2046
  "$cascade" compile "$tmp/compile_bert.ein" -o "$tmp/compile_out" $([ -z "$passes" ] || echo "--passes=$passes") >/dev/null
  ct+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')")
done
meta_put compile "$(printf '%s\n' "${ct[@]}" | sort -g | sed -n 2p)"

# ---- one measurement: prints "ms scratch other%" ("NA ..." on failure) -------
# other% is the share of the machine's CPU time that other processes took
# while it ran (all CPUs' busy time minus this measurement's own, from
# /proc/stat and the children's times of this shell). A measurement that
# shared the machine (over $DISTURBED%: a competing single-threaded job takes
# 50) is retried, up to twice, after waiting for the CPUs to quiet down.
stat_total() { local c a b d e f g h i; read -r c a b d e f g h i _ </proc/stat; echo "$((a + b + d + e + f + g + h + i)) $((e + f))"; }
# Sets TICKS to the CPU time (user + system, clock ticks) of this shell's
# finished children; called directly, not in $( ), so BASHPID is this shell.
children_ticks() { local s; read -r s </proc/$BASHPID/stat; s=${s##*) }; set -- $s; TICKS=$((${14} + ${15})); }
# Waits up to $1 s for the CPUs to quiet down, within a budget of
# $retry_budget s of waiting for the whole run (kept in a file: measure runs
# in a subshell).
retry_budget=${RETRY_BUDGET:-300}
wait_quiet() {
  local used end
  used=$(cat "$tmp/waited" 2>/dev/null || echo 0)
  [ "$used" -lt "$retry_budget" ] || return 1
  end=$((SECONDS + $1))
  while [ "$(cpu_busy)" -gt 10 ] && [ $SECONDS -lt $end ]; do :; done
  echo $((used + $1 - (end - SECONDS))) >"$tmp/waited"
}
measure_once() { # contender threads id cn pn
  local who=$1 t=$2 id=$3 cn=$4 pn=$5 out p
  p=(${PARAMS[$id]})
  local kind=${KIND[$id]} log="$tmp/log.$who.$id.$t"
  case $who in
    cascade)
      # shellcheck disable=SC2086
      out=$(OMP_NUM_THREADS=$t "$cascade" run "${EIN[$id]}" --target=host ${CFLAGS[$id]} --bench="$cn" 2>"$log") || out="" ;;
    openblas)
      case $kind in
        gemm) out=$(OMP_NUM_THREADS=$t "$bin/openblas_gemm" "${p[@]}" "$t" "$pn" 2>"$log") ;;
        attention|attention1) out=$(OMP_NUM_THREADS=$t "$bin/openblas_attention" "${p[@]}" "$t" "$pn" 2>"$log") ;;
        bert) out=$(OMP_NUM_THREADS=$t "$bin/openblas_bert" "${p[0]}" "$t" "$pn" --inputs "$tmp/${id}_in" 2>"$log") ;;
      esac || out="" ;;
    ort)
      local spec
      case $kind in
        gemm) spec="gemm:${p[0]}:${p[1]}:${p[2]}" ;;
        attention|attention1) spec="attention:${p[0]}:${p[1]}:${p[2]}" ;;
        bert) spec="bert:${p[0]} --inputs $tmp/${id}_in" ;;
      esac
      # shellcheck disable=SC2086
      out=$(OMP_NUM_THREADS=$t node "$bench/onnx/bench.mjs" $spec "$t" "$pn" 2>"$log") || out="" ;;
    halide)
      out=$(HL_NUM_THREADS=$t "$bin/halide_gemm" "${p[@]}" "$t" "$pn" 2>"$log") || out="" ;;
    onednn)
      out=$(OMP_NUM_THREADS=$t "$bin/onednn_gemm" "${p[@]}" "$t" "$pn" 2>"$log") || out="" ;;
  esac
  local ms sc
  ms=$(sed -n 's/^median_ms=//p' <<<"$out")
  sc=$(sed -n 's/^scratch_bytes=//p' <<<"$out")
  if [ -z "$ms" ]; then
    echo "run.sh: $who ($t thread(s)) failed on $id: $(tail -3 "$log" | tr '\n' ' ')" >&2
    ms=NA
  fi
  echo "$ms ${sc:-NA}"
}
measure() {
  local try res s0 s1 c0 c1 other
  for try in 1 2 3; do
    s0=($(stat_total)); children_ticks; c0=$TICKS
    res=$(measure_once "$@")
    s1=($(stat_total)); children_ticks; c1=$TICKS
    local dt=$((s1[0] - s0[0])) busy=$((s1[0] - s0[0] - s1[1] + s0[1]))
    other=$((dt > 0 ? 100 * (busy - (c1 - c0)) / dt : 0))
    [ $other -ge 0 ] || other=0
    if [ $other -gt $DISTURBED ] && [ $try -lt 3 ]; then
      echo "run.sh: $1 ($2 thread(s)) on $3 shared the CPUs (${other}% used by others); waiting and retrying" >&2
      wait_quiet 60 && continue
    fi
    break
  done
  echo "$res $other"
}

# ---- the rounds: contenders interleaved, the first one rotating -------------
start=$SECONDS
for ((r = 1; r <= rounds; ++r)); do
  while IFS='|' read -r id label kind params cn pn; do
    jobs=("cascade 1" "cascade 2" "openblas 1" "openblas 2")
    [ $use_onnx = 1 ] && jobs+=("ort 1" "ort 2")
    [ $use_halide = 1 ] && [ "$kind" = gemm ] && jobs+=("halide 1" "halide 2")
    [ $use_onednn = 1 ] && [ "$kind" = gemm ] && jobs+=("onednn 1" "onednn 2")
    n=${#jobs[@]}
    for ((j = 0; j < n; ++j)); do
      set -- ${jobs[$(((j + r - 1) % n))]}
      res=$(measure "$1" "$2" "$id" "$cn" "$pn" </dev/null)
      printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$1" "$2" "$r" "$res" >>"$raw"
    done
    echo "round $r/$rounds: $label done ($((SECONDS - start)) s)" >&2
  done <<<"$W"
done
meta_put seconds $((SECONDS - start))
meta_put busy "$busy_before% / $(cpu_busy)%"
"$bin/peak" 5 | while read -r l; do meta_put peak "$l"; done
meta_put cascade "$("$cascade" --version 2>/dev/null | head -1), binary built $cascade_built (HEAD $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') when the run ended)"

report "$raw"
