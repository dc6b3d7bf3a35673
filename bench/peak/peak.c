/* peak.c -- the machine's limits for Cascade's benchmarks.
 *
 *   fma   : fp32 FMA throughput with independent accumulators (no dependency
 *           chain limits it), AVX-512 (16 lanes) and AVX2 (8 lanes), on 1 and
 *           2 threads (one OpenMP team, one thread per core).
 *   triad : STREAM-like a[i] = b[i] + s * c[i] over arrays far larger than the
 *           caches, 1 and 2 threads; bytes counted as 3 * 4 per element (no
 *           write-allocate traffic counted, like STREAM).
 *
 * Prints one `key=value` line per figure (GFLOP/s, GB/s): best of several
 * repetitions, since a peak is a max, not a median.
 * Build: see bench/build.sh (gcc -O2 -mavx512f -mfma -fopenmp).
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define ACC 12 /* 12 independent chains: > latency(4) x pipes(2) */

/* Returns the number of flops done (2 per lane per FMA). Compiled for
 * AVX-512 whatever -march says, and called only where the CPU has it. */
__attribute__((noinline, target("avx512f,fma"))) static double
fma512(long iters, float *sink) {
  __m512 a[ACC];
  const __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
  for (int i = 0; i < ACC; ++i) a[i] = _mm512_set1_ps((float)i);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < ACC; ++i) a[i] = _mm512_fmadd_ps(a[i], x, y);
  }
  __m512 s = a[0];
  for (int i = 1; i < ACC; ++i) s = _mm512_add_ps(s, a[i]);
  *sink += _mm512_reduce_add_ps(s);
  return 2.0 * 16 * ACC * (double)iters;
}

__attribute__((noinline, target("avx2,fma"))) static double
fma256(long iters, float *sink) {
  __m256 a[ACC];
  const __m256 x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
  for (int i = 0; i < ACC; ++i) a[i] = _mm256_set1_ps((float)i);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < ACC; ++i) a[i] = _mm256_fmadd_ps(a[i], x, y);
  }
  __m256 s = a[0];
  for (int i = 1; i < ACC; ++i) s = _mm256_add_ps(s, a[i]);
  float t[8];
  _mm256_storeu_ps(t, s);
  for (int i = 0; i < 8; ++i) *sink += t[i];
  return 2.0 * 8 * ACC * (double)iters;
}

static double fma_gflops(int threads, int wide, int reps) {
  const long iters = 20 * 1000 * 1000;
  double best = 0;
  float sink = 0;
  for (int r = 0; r < reps; ++r) {
    double flops = 0, t0 = now();
#pragma omp parallel num_threads(threads) reduction(+ : flops)
    {
      float s = 0;
      flops += wide ? fma512(iters, &s) : fma256(iters, &s);
      if (s == 12345.f) printf("%f\n", s);
    }
    double g = flops / (now() - t0) / 1e9;
    if (g > best) best = g;
  }
  return best + 0 * sink;
}

static double triad_gbs(int threads, int reps) {
  const long n = 32L * 1000 * 1000; /* 3 x 128 MB */
  float *a = aligned_alloc(64, n * 4), *b = aligned_alloc(64, n * 4),
        *c = aligned_alloc(64, n * 4);
  const float s = 3.0f;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (long i = 0; i < n; ++i) a[i] = 0, b[i] = 1, c[i] = 2; /* first touch */
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    double t0 = now();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
    double g = 3.0 * 4 * n / (now() - t0) / 1e9;
    if (g > best) best = g;
  }
  if (a[n / 2] != 7.0f) fprintf(stderr, "triad: wrong result\n");
  free(a), free(b), free(c);
  return best;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  int nthreads[2] = {1, 2};
  for (int i = 0; i < 2; ++i) {
    int t = nthreads[i];
    if (__builtin_cpu_supports("avx512f")) /* else no line: no such peak */
      printf("fma_avx512_t%d_gflops=%.1f\n", t, fma_gflops(t, 1, reps));
    printf("fma_avx2_t%d_gflops=%.1f\n", t, fma_gflops(t, 0, reps));
    printf("triad_t%d_gbs=%.1f\n", t, triad_gbs(t, reps));
    fflush(stdout);
  }
  return 0;
}
