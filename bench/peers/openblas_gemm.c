/* openblas_gemm.c -- the OpenBLAS peer for GEMM, in the layout of
 * examples/matmul.ein:  C[m,n] = sum_k A[m,k] * B[k,n]   (row-major A[M,K],
 * B[K,N], C[M,N]: cblas_sgemm RowMajor, NoTrans, NoTrans).
 *
 * Usage: openblas_gemm M K N THREADS RUNS [--inputs DIR] [--output C.npy]
 * Prints median_ms= over RUNS calls after 3 warm-up calls, and checksum=.
 */
#include "common.h"

typedef struct {
  int M, K, N;
  float *A, *B, *C;
} gemm_t;

static void run(void *p) {
  gemm_t *g = p;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->M, g->N, g->K, 1.0f,
              g->A, g->K, g->B, g->N, 0.0f, g->C, g->N);
}

int main(int argc, char **argv) {
  bench_io io = bench_parse_io(&argc, argv);
  if (argc != 6) {
    fprintf(stderr, "usage: %s M K N THREADS RUNS [--inputs DIR] [--output C.npy]\n", argv[0]);
    return 2;
  }
  gemm_t g = {atoi(argv[1]), atoi(argv[2]), atoi(argv[3])};
  int threads = atoi(argv[4]), runs = atoi(argv[5]);
  bench_threads(threads);
  g.A = bench_alloc((size_t)g.M * g.K);
  g.B = bench_alloc((size_t)g.K * g.N);
  g.C = bench_alloc((size_t)g.M * g.N);
  bench_input(io.inputs, "A", g.A, (size_t)g.M * g.K, 1, 1.0f);
  bench_input(io.inputs, "B", g.B, (size_t)g.K * g.N, 2, 1.0f);
  bench_time(run, &g, 3, runs);
  printf("checksum=%.6g\n", bench_checksum(g.C, (size_t)g.M * g.N));
  if (io.output) bench_npy_write(io.output, g.C, (size_t[]){g.M, g.N}, 2);
  return 0;
}
