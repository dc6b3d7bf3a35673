# workloads.sh -- sourced by run.sh and verify.sh: writes the full-size
# Cascade models of the benchmark suite and the shared BERT inputs.
# Every model is made from the example it scales (sed on examples/*.ein), or,
# for multi-head attention (no example has heads without projections),
# written here with the equations of examples/attention_3pass.ein plus a head
# rank, in the same features-first layout.

# gen_gemm M K N FILE: examples/matmul.ein, C[m,n] = A[m,k] * B[k,n].
gen_gemm() {
  sed -e "s/^ranks M=64, K=128, N=96\$/ranks M=$1, K=$2, N=$3/" \
    "$root/examples/matmul.ein" >"$4"
  grep -q "^ranks M=$1, K=$2, N=$3\$" "$4" || { echo "gen_gemm: examples/matmul.ein changed" >&2; return 1; }
}

# gen_attention H E P FILE [causal]: the 3-pass cascade of attention_3pass.ein
# per head; with "causal", the mask of examples/attention_causal.ein.
gen_attention() {
  local model=mha_attention what="Multi-head" scores="QK[h,m,p] = Q[h,e,p] * K[h,e,m] / sqrt(E)"
  if [ "${5:-}" = causal ]; then
    model=mha_causal what="Causal multi-head"
    scores="S[h,m,p]  = Q[h,e,p] * K[h,e,m] / sqrt(E)
QK[h,m,p] = where(m <= p, S[h,m,p], -inf)"
  fi
  cat >"$4" <<EIN
# $what scaled dot-product attention, 3-pass softmax (FuseMax Cascade 4),
# examples/attention_3pass.ein with a head rank h. Written by bench/workloads.sh.
model $model
ranks H=$1, E=$2, F=$2, P=$3, M=P
input Q[H,E,P] : f32
input K[H,E,M] : f32
input V[H,F,M] : f32
$scores
GM[h,p]   = QK[h,m,p] :: max(m)
SN[h,m,p] = exp(QK[h,m,p] - GM[h,p])
SD[h,p]   = SN[h,m,p]
A[h,m,p]  = SN[h,m,p] / SD[h,p]
AV[h,f,p] = A[h,m,p] * V[h,f,m]
output AV
EIN
}

# gen_attention_1pass P M0 FILE: examples/attention_1pass.ein (one head,
# E=F=64) at sequence length P, keys in chunks of M0.
gen_attention_1pass() {
  local m1=$(($1 / $2))
  sed -e "s/^ranks E=16, F=8, P=10, M1=3, M0=32, M=96\$/ranks E=64, F=64, P=$1, M1=$m1, M0=$2, M=$1/" \
    "$root/examples/attention_1pass.ein" >"$3"
  grep -q "^ranks E=64, F=64, P=$1, M1=$m1, M0=$2, M=$1\$" "$3" || { echo "gen_attention_1pass: examples/attention_1pass.ein changed" >&2; return 1; }
}

# gen_bert P FILE: examples/bert_layer.ein at BERT-base size.
gen_bert() {
  sed -e "s/^ranks D=64, H=4, E=16, F=256, P=32, M=P\$/ranks D=768, H=12, E=64, F=3072, P=$1, M=P/" \
    "$root/examples/bert_layer.ein" >"$2"
  grep -q "^ranks D=768, H=12, E=64, F=3072, P=$1, M=P\$" "$2" || { echo "gen_bert: examples/bert_layer.ein changed" >&2; return 1; }
}

BERT_TENSORS="X WQ BQ WK BK WV BV WO BO G1 BE1 WI BI W2 B2 G2 BE2"

# gen_bert_inputs P DIR: realistic values (BERT's initializer scale), shared by
# every contender; prints the `--input NAME=FILE` flags for cascade.
gen_bert_inputs() {
  mkdir -p "$2"
  "$bin/openblas_bert" "$1" 1 0 --write-inputs "$2" >/dev/null
  local t flags=""
  for t in $BERT_TENSORS; do flags="$flags --input $t=$2/$t.npy"; done
  echo "$flags"
}

# FLOPs of each workload (multiply-adds count 2; softmax, GELU, LayerNorm not counted).
flops_gemm() { echo $((2 * $1 * $2 * $3)); }
flops_attention() { echo $((4 * $1 * $3 * $3 * $2)); }             # H E P
flops_bert() { local P=$1 D=768 F=3072; echo $((8 * P * D * D + 4 * P * D * F + 4 * P * P * D)); }
