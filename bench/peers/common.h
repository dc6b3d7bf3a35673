/* common.h -- shared helpers of the C peers in bench/peers/ (OpenBLAS, OpenMP).
 *
 * Every peer prints `median_ms=X` (median of RUNS timed calls after warm-up
 * calls), the same key `cascade run --bench` prints, and `checksum=X` (sum of
 * the output) so that a broken build shows.  Inputs are a fixed pseudo-random
 * standard normal fill; `--inputs DIR` reads them from the `.npy` files that
 * `cascade run --random-inputs --output-dir DIR` writes instead, and
 * `--output FILE.npy` writes the result, so bench/verify.sh can compare a peer
 * with Cascade on the same values.
 */
#ifndef CASCADE_BENCH_COMMON_H
#define CASCADE_BENCH_COMMON_H

#define _GNU_SOURCE
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

/* OpenBLAS's own entry point (declared in its cblas.h as well). */
void openblas_set_num_threads(int);

static inline double bench_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int bench_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median, the mean of the two middle values for an even count (as cascade). */
static inline double bench_median(double *v, int n) {
  qsort(v, n, sizeof *v, bench_cmp);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One library, one pool: OpenBLAS's OpenMP build shares libgomp's team with
 * the peers' own `omp parallel` loops. */
static inline void bench_threads(int t) {
  omp_set_num_threads(t);
  openblas_set_num_threads(t);
}

static inline float *bench_alloc(size_t n) {
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  float *p = aligned_alloc(64, bytes ? bytes : 64);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  memset(p, 0, bytes);
  return p;
}

/* Deterministic standard-normal-ish fill (xorshift + Box-Muller). */
static inline void bench_fill(float *p, size_t n, uint64_t seed, float scale) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i += 2) {
    double u[2];
    for (int j = 0; j < 2; ++j) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      u[j] = ((s >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    }
    double r = sqrt(-2 * log(u[0])), a = 6.283185307179586 * u[1];
    p[i] = scale * (float)(r * cos(a));
    if (i + 1 < n) p[i + 1] = scale * (float)(r * sin(a));
  }
}

/* --- .npy (format 1.0/2.0, '<f4', C order) ------------------------------ */
static inline void bench_npy_read(const char *path, float *dst, size_t n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: cannot open\n", path);
    exit(1);
  }
  unsigned char h[10];
  if (fread(h, 1, 10, f) != 10 || memcmp(h, "\x93NUMPY", 6)) {
    fprintf(stderr, "%s: not a .npy file\n", path);
    exit(1);
  }
  size_t hl = h[8] | (h[9] << 8);
  if (h[6] >= 2) {
    unsigned char e[2];
    if (fread(e, 1, 2, f) != 2) exit(1);
    hl |= ((size_t)e[0] << 16) | ((size_t)e[1] << 24);
  }
  char *hdr = malloc(hl + 1);
  if (fread(hdr, 1, hl, f) != hl) exit(1);
  hdr[hl] = 0;
  if (!strstr(hdr, "<f4") || strstr(hdr, "True")) {
    fprintf(stderr, "%s: expected '<f4' in C order: %s\n", path, hdr);
    exit(1);
  }
  free(hdr);
  if (fread(dst, sizeof(float), n, f) != n) {
    fprintf(stderr, "%s: expected %zu floats\n", path, n);
    exit(1);
  }
  fclose(f);
}

static inline void bench_npy_write(const char *path, const float *src,
                                   const size_t *shape, int rank) {
  char dims[256] = "";
  for (int i = 0; i < rank; ++i) {
    char d[32];
    snprintf(d, sizeof d, "%zu%s", shape[i], rank == 1 ? "," : (i + 1 < rank ? ", " : ""));
    strcat(dims, d);
  }
  char hdr[512];
  int len = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
  int total = 10 + len + 1, pad = (64 - total % 64) % 64;
  size_t n = 1;
  for (int i = 0; i < rank; ++i) n *= shape[i];
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "%s: cannot write\n", path);
    exit(1);
  }
  unsigned short hl = (unsigned short)(len + pad + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc(hl & 255, f), fputc(hl >> 8, f);
  fwrite(hdr, 1, len, f);
  for (int i = 0; i < pad; ++i) fputc(' ', f);
  fputc('\n', f);
  fwrite(src, sizeof(float), n, f);
  fclose(f);
}

/* Fill tensor NAME: from DIR/NAME.npy when an input folder is given. */
static inline void bench_input(const char *dir, const char *name, float *p,
                               size_t n, uint64_t seed, float scale) {
  if (dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    bench_npy_read(path, p, n);
  } else {
    bench_fill(p, n, seed, scale);
  }
}

static inline double bench_checksum(const float *p, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += p[i];
  return s;
}

/* --- vectorized exp and row softmax ------------------------------------- */
/* Cephes-style expf: range reduction by ln 2, degree-6 polynomial; relative
 * error ~1e-7 on the softmax range (x <= 0). */
#if defined(__AVX512F__)
#define VW 16
typedef __m512 vf;
#define vset1 _mm512_set1_ps
#define vload _mm512_loadu_ps
#define vstore _mm512_storeu_ps
#define vadd _mm512_add_ps
#define vsub _mm512_sub_ps
#define vmul _mm512_mul_ps
#define vfma _mm512_fmadd_ps
#define vmax _mm512_max_ps
#define vmin _mm512_min_ps
#define vhmax _mm512_reduce_max_ps
#define vhadd _mm512_reduce_add_ps
static inline vf vround(vf x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vf vpow2i(vf n) {
  __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
  return _mm512_castsi512_ps(_mm512_slli_epi32(i, 23));
}
#else
#define VW 8
typedef __m256 vf;
#define vset1 _mm256_set1_ps
#define vload _mm256_loadu_ps
#define vstore _mm256_storeu_ps
#define vadd _mm256_add_ps
#define vsub _mm256_sub_ps
#define vmul _mm256_mul_ps
#define vfma _mm256_fmadd_ps
#define vmax _mm256_max_ps
#define vmin _mm256_min_ps
static inline float vhmax(vf x) {
  float t[8], m = -FLT_MAX;
  _mm256_storeu_ps(t, x);
  for (int i = 0; i < 8; ++i) m = t[i] > m ? t[i] : m;
  return m;
}
static inline float vhadd(vf x) {
  float t[8], s = 0;
  _mm256_storeu_ps(t, x);
  for (int i = 0; i < 8; ++i) s += t[i];
  return s;
}
static inline vf vround(vf x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vf vpow2i(vf n) {
  __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
  return _mm256_castsi256_ps(_mm256_slli_epi32(i, 23));
}
#endif

static inline vf vexp(vf x) {
  x = vmin(vmax(x, vset1(-87.0f)), vset1(88.0f));
  vf n = vround(vmul(x, vset1(1.44269504088896341f)));
  vf r = vfma(n, vset1(-0.693359375f), x);
  r = vfma(n, vset1(2.12194440e-4f), r);
  vf p = vset1(1.9875691500e-4f);
  p = vfma(p, r, vset1(1.3981999507e-3f));
  p = vfma(p, r, vset1(8.3334519073e-3f));
  p = vfma(p, r, vset1(4.1665795894e-2f));
  p = vfma(p, r, vset1(1.6666665459e-1f));
  p = vfma(p, r, vset1(5.0000001201e-1f));
  p = vfma(vmul(p, r), r, vadd(r, vset1(1.0f)));
  return vmul(p, vpow2i(n));
}

static inline float sexp(float x) {
  float t[VW];
  vstore(t, vexp(vset1(x)));
  return t[0];
}

/* In place: row[i] = exp(row[i] - max) / sum. n need not be a multiple of VW. */
static inline void softmax_row(float *row, int n) {
  int i = 0;
  vf vm = vset1(-FLT_MAX);
  for (; i + VW <= n; i += VW) vm = vmax(vm, vload(row + i));
  float m = vhmax(vm);
  for (; i < n; ++i) m = row[i] > m ? row[i] : m;
  vf vs = vset1(0.0f), vmx = vset1(m);
  float s = 0;
  for (i = 0; i + VW <= n; i += VW) {
    vf e = vexp(vsub(vload(row + i), vmx));
    vstore(row + i, e);
    vs = vadd(vs, e);
  }
  for (; i < n; ++i) s += (row[i] = sexp(row[i] - m));
  s += vhadd(vs);
  vf inv = vset1(1.0f / s);
  for (i = 0; i + VW <= n; i += VW) vstore(row + i, vmul(vload(row + i), inv));
  for (; i < n; ++i) row[i] *= 1.0f / s;
}

/* Arguments: positional integers, then --inputs DIR, --output FILE. */
typedef struct {
  const char *inputs, *output;
} bench_io;

static inline bench_io bench_parse_io(int *argc, char **argv) {
  bench_io io = {0, 0};
  int k = 1;
  for (int i = 1; i < *argc; ++i) {
    if (!strcmp(argv[i], "--inputs") && i + 1 < *argc)
      io.inputs = argv[++i];
    else if (!strcmp(argv[i], "--output") && i + 1 < *argc)
      io.output = argv[++i];
    else
      argv[k++] = argv[i];
  }
  *argc = k;
  return io;
}

/* Runs fn(ctx) `warm` times untimed, then `runs` times timed; prints the median. */
static inline double bench_time(void (*fn)(void *), void *ctx, int warm, int runs) {
  for (int i = 0; i < warm; ++i) fn(ctx);
  double *t = malloc(sizeof(double) * runs);
  for (int i = 0; i < runs; ++i) {
    double t0 = bench_now_ms();
    fn(ctx);
    t[i] = bench_now_ms() - t0;
  }
  double m = bench_median(t, runs);
  free(t);
  printf("median_ms=%.4f\n", m);
  return m;
}

#endif
