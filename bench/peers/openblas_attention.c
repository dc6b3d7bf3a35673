/* openblas_attention.c -- the OpenBLAS peer for multi-head attention, unfused,
 * written the usual way: per head one sgemm for the scores, a vectorized row
 * softmax, one sgemm for the weighted values; heads in parallel with OpenMP
 * (OpenBLAS's OpenMP build runs each sgemm single-threaded inside the team,
 * so there is one thread pool).  With fewer heads than threads (one
 * long-context head) the heads run in turn and OpenBLAS threads each sgemm.
 *
 * Layout of the Cascade workload (bench/run.sh writes it; FuseMax's layout,
 * features first, as examples/attention_3pass.ein with a head rank):
 *   Q[H,E,P], K[H,E,M], V[H,F,M] -> AV[H,F,P]
 *   S[p,m]   = sum_e Q[h,e,p] K[h,e,m] / sqrt(E)   sgemm(Trans, NoTrans)
 *   A[p,:]   = softmax(S[p,:])                     rows over m
 *   AV[f,p]  = sum_m V[h,f,m] A[p,m]               sgemm(NoTrans, Trans)
 *
 * Usage: openblas_attention H E P THREADS RUNS [--inputs DIR] [--output AV.npy]
 */
#include "common.h"

typedef struct {
  int H, E, P, threads;
  float *Q, *K, *V, *O, *S; /* S: one P x P score buffer per thread */
} att_t;

static void head(att_t *a, int h, float *S, int rows_parallel) {
  const int E = a->E, P = a->P, M = a->P, F = a->E;
  const float scale = 1.0f / sqrtf((float)E);
  const float *q = a->Q + (size_t)h * E * P, *k = a->K + (size_t)h * E * M,
              *v = a->V + (size_t)h * F * M;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, P, M, E, scale, q, P, k, M, 0.0f,
              S, M);
#pragma omp parallel for schedule(static) if (rows_parallel)
  for (int i = 0; i < P; ++i) softmax_row(S + (size_t)i * M, M);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, F, P, M, 1.0f, v, M, S, M, 0.0f,
              a->O + (size_t)h * F * P, P);
}

static void run(void *p) {
  att_t *a = p;
  if (a->H >= a->threads) {
    /* The usual way: heads in parallel, each sgemm on one thread. */
#pragma omp parallel for schedule(static)
    for (int h = 0; h < a->H; ++h)
      head(a, h, a->S + (size_t)omp_get_thread_num() * a->P * a->P, 0);
  } else {
    /* Fewer heads than threads (one long-context head): OpenBLAS threads
     * each sgemm, the softmax rows are split across the team. */
    for (int h = 0; h < a->H; ++h) head(a, h, a->S, 1);
  }
}

int main(int argc, char **argv) {
  bench_io io = bench_parse_io(&argc, argv);
  if (argc != 6) {
    fprintf(stderr, "usage: %s H E P THREADS RUNS [--inputs DIR] [--output AV.npy]\n", argv[0]);
    return 2;
  }
  att_t a = {atoi(argv[1]), atoi(argv[2]), atoi(argv[3])};
  int threads = a.threads = atoi(argv[4]), runs = atoi(argv[5]);
  bench_threads(threads);
  size_t n = (size_t)a.H * a.E * a.P;
  a.Q = bench_alloc(n), a.K = bench_alloc(n), a.V = bench_alloc(n), a.O = bench_alloc(n);
  a.S = bench_alloc((size_t)threads * a.P * a.P);
  bench_input(io.inputs, "Q", a.Q, n, 1, 1.0f);
  bench_input(io.inputs, "K", a.K, n, 2, 1.0f);
  bench_input(io.inputs, "V", a.V, n, 3, 1.0f);
  bench_time(run, &a, 3, runs);
  printf("checksum=%.6g\n", bench_checksum(a.O, n));
  if (io.output) bench_npy_write(io.output, a.O, (size_t[]){a.H, a.E, a.P}, 3);
  return 0;
}
