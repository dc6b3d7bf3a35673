/* openblas_bert.c -- the OpenBLAS peer for one BERT encoder layer (post-LN),
 * with exactly the math of examples/bert_layer.ein (D=768, H=12, E=64,
 * F=3072 by default): sgemm for every projection, simple OpenMP loops for
 * bias, GELU (exact, erf), residual and LayerNorm, and the attention written
 * the usual way (per head sgemm, vectorized row softmax, sgemm; heads in
 * parallel).  Weights are nn.Linear's [out, in] as the .ein declares them
 * (WQ[H,E,D] is a [H*E, D] matrix), so every projection is
 * sgemm(NoTrans, Trans): Y[P,out] = X[P,in] W[out,in]^T.
 *
 *   Q,K,V = X WQ^T + BQ, X WK^T + BK, X WV^T + BV      [P, H*E]
 *   ctx_h = softmax(Q_h K_h^T / sqrt(E)) V_h          per head, [P, E]
 *   X1    = LN1(ctx WO^T + BO + X)                     [P, D]
 *   Y     = LN2(gelu(X1 WI^T + BI) W2^T + B2 + X1)     [P, D]
 *
 * Usage: openblas_bert P THREADS RUNS [D H E F] [--inputs DIR] [--output Y.npy]
 *        openblas_bert P 1 0 [D H E F] --write-inputs DIR
 * With --inputs, tensors are read from DIR/NAME.npy (the .ein's names).
 * --write-inputs writes this program's own fill there and exits: X ~ N(0,1),
 * weights and biases ~ N(0, 0.02^2) (BERT's initializer), LayerNorm gains
 * 1 + N(0, 0.02^2); bench/run.sh hands the same files to every contender,
 * so all of them compute on realistic values (unit-normal weights would make
 * the softmax one-hot and fill the PV products with denormals).
 */
#include "common.h"

#include <sys/stat.h>

typedef struct {
  int P, D, H, E, F;
  float *X, *WQ, *BQ, *WK, *BK, *WV, *BV, *WO, *BO, *G1, *BE1, *WI, *BI, *W2, *B2,
      *G2, *BE2;
  float *Q, *K, *V, *S, *CTX, *R1, *X1, *FI, *R2, *Y;
} bert_t;

static void linear(int P, int in, int out, const float *x, const float *w, float *y) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, out, in, 1.0f, x, in, w, in,
              0.0f, y, out);
}

static void add_bias(int P, int n, float *y, const float *b) {
#pragma omp parallel for schedule(static)
  for (int p = 0; p < P; ++p) {
    float *r = y + (size_t)p * n;
#pragma omp simd
    for (int j = 0; j < n; ++j) r[j] += b[j];
  }
}

static void bias_gelu(int P, int n, float *y, const float *b) {
#pragma omp parallel for schedule(static)
  for (int p = 0; p < P; ++p) {
    float *r = y + (size_t)p * n;
#pragma omp simd
    for (int j = 0; j < n; ++j) {
      float x = r[j] + b[j];
      r[j] = 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    }
  }
}

/* out = LayerNorm(y + b + res) * g + be over rows of n, eps 1e-12. */
static void bias_residual_ln(int P, int n, const float *y, const float *b,
                             const float *res, const float *g, const float *be,
                             float *out) {
#pragma omp parallel for schedule(static)
  for (int p = 0; p < P; ++p) {
    const float *yr = y + (size_t)p * n, *rr = res + (size_t)p * n;
    float *o = out + (size_t)p * n;
    float mu = 0;
#pragma omp simd reduction(+ : mu)
    for (int j = 0; j < n; ++j) {
      o[j] = yr[j] + b[j] + rr[j];
      mu += o[j];
    }
    mu /= n;
    float var = 0;
#pragma omp simd reduction(+ : var)
    for (int j = 0; j < n; ++j) {
      float c = o[j] - mu;
      var += c * c;
    }
    float rs = 1.0f / sqrtf(var / n + 1e-12f);
#pragma omp simd
    for (int j = 0; j < n; ++j) o[j] = (o[j] - mu) * rs * g[j] + be[j];
  }
}

static void run(void *ctx) {
  bert_t *b = ctx;
  const int P = b->P, D = b->D, H = b->H, E = b->E, F = b->F, HE = H * E;
  const float scale = 1.0f / sqrtf((float)E);
  linear(P, D, HE, b->X, b->WQ, b->Q);
  linear(P, D, HE, b->X, b->WK, b->K);
  linear(P, D, HE, b->X, b->WV, b->V);
  add_bias(P, HE, b->Q, b->BQ);
  add_bias(P, HE, b->K, b->BK);
  add_bias(P, HE, b->V, b->BV);
#pragma omp parallel for schedule(static)
  for (int h = 0; h < H; ++h) {
    float *S = b->S + (size_t)omp_get_thread_num() * P * P;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, P, E, scale, b->Q + h * E,
                HE, b->K + h * E, HE, 0.0f, S, P);
    for (int i = 0; i < P; ++i) softmax_row(S + (size_t)i * P, P);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, E, P, 1.0f, S, P,
                b->V + h * E, HE, 0.0f, b->CTX + h * E, HE);
  }
  linear(P, HE, D, b->CTX, b->WO, b->R1);
  bias_residual_ln(P, D, b->R1, b->BO, b->X, b->G1, b->BE1, b->X1);
  linear(P, D, F, b->X1, b->WI, b->FI);
  bias_gelu(P, F, b->FI, b->BI);
  linear(P, F, D, b->FI, b->W2, b->R2);
  bias_residual_ln(P, D, b->R2, b->B2, b->X1, b->G2, b->BE2, b->Y);
}

int main(int argc, char **argv) {
  const char *write_dir = NULL;
  for (int i = 1; i + 1 < argc; ++i)
    if (!strcmp(argv[i], "--write-inputs")) {
      write_dir = argv[i + 1];
      memmove(argv + i, argv + i + 2, sizeof(char *) * (argc - i - 2));
      argc -= 2;
      break;
    }
  bench_io io = bench_parse_io(&argc, argv);
  if (argc != 4 && argc != 8) {
    fprintf(stderr, "usage: %s P THREADS RUNS [D H E F] [--inputs DIR] [--output Y.npy]\n",
            argv[0]);
    return 2;
  }
  bert_t b = {.P = atoi(argv[1]), .D = 768, .H = 12, .E = 64, .F = 3072};
  int threads = atoi(argv[2]), runs = atoi(argv[3]);
  if (argc == 8) b.D = atoi(argv[4]), b.H = atoi(argv[5]), b.E = atoi(argv[6]), b.F = atoi(argv[7]);
  bench_threads(threads);
  const size_t P = b.P, D = b.D, HE = (size_t)b.H * b.E, F = b.F;
  struct {
    const char *name;
    float **p;
    size_t n;
    float scale, offset;
  } t[] = {
      {"X", &b.X, P * D, 1, 0},       {"WQ", &b.WQ, HE * D, 0.02f, 0},
      {"BQ", &b.BQ, HE, 0.02f, 0},    {"WK", &b.WK, HE * D, 0.02f, 0},
      {"BK", &b.BK, HE, 0.02f, 0},    {"WV", &b.WV, HE * D, 0.02f, 0},
      {"BV", &b.BV, HE, 0.02f, 0},    {"WO", &b.WO, D * HE, 0.02f, 0},
      {"BO", &b.BO, D, 0.02f, 0},     {"G1", &b.G1, D, 0.02f, 1},
      {"BE1", &b.BE1, D, 0.02f, 0},   {"WI", &b.WI, F * D, 0.02f, 0},
      {"BI", &b.BI, F, 0.02f, 0},     {"W2", &b.W2, D * F, 0.02f, 0},
      {"B2", &b.B2, D, 0.02f, 0},     {"G2", &b.G2, D, 0.02f, 1},
      {"BE2", &b.BE2, D, 0.02f, 0},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; ++i) {
    *t[i].p = bench_alloc(t[i].n);
    bench_input(io.inputs, t[i].name, *t[i].p, t[i].n, i + 1, t[i].scale);
    if (!io.inputs)
      for (size_t j = 0; j < t[i].n; ++j) (*t[i].p)[j] += t[i].offset;
  }
  if (write_dir) {
    mkdir(write_dir, 0755); /* one level; an existing folder is fine */
    size_t shapes[][3] = {{P, D}, {b.H, b.E, D}, {b.H, b.E}, {b.H, b.E, D}, {b.H, b.E},
                          {b.H, b.E, D}, {b.H, b.E}, {D, b.H, b.E}, {D}, {D}, {D},
                          {F, D}, {F}, {D, F}, {D}, {D}, {D}};
    int ranks[] = {2, 3, 2, 3, 2, 3, 2, 3, 1, 1, 1, 2, 1, 2, 1, 1, 1};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; ++i) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s.npy", write_dir, t[i].name);
      bench_npy_write(path, *t[i].p, shapes[i], ranks[i]);
    }
    return 0;
  }
  b.Q = bench_alloc(P * HE), b.K = bench_alloc(P * HE), b.V = bench_alloc(P * HE);
  b.S = bench_alloc((size_t)threads * P * P);
  b.CTX = bench_alloc(P * HE), b.R1 = bench_alloc(P * D), b.X1 = bench_alloc(P * D);
  b.FI = bench_alloc(P * F), b.R2 = bench_alloc(P * D), b.Y = bench_alloc(P * D);
  bench_time(run, &b, 3, runs);
  printf("checksum=%.6g\n", bench_checksum(b.Y, P * D));
  if (io.output) bench_npy_write(io.output, b.Y, (size_t[]){P, D}, 2);
  return 0;
}
