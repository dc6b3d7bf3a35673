/* erf_check --write X.npy: writes the points, [3, 16384]: 16384 over
 * [-8, 8), 16384 consecutive f32s from 3.998 up (across erf's clamp at 4),
 * and inf, -inf and NaNs.
 * erf_check X.npy E.npy G.npy: E should be erf(X) and G gelu(X), as f32.
 * Compares with libm's erf in double: |E - erf(x)| <= 5e-7, and
 * |G - gelu(x)| <= 5e-7 * max(1, |x|) (the error of erf, scaled by x/2,
 * plus rounding). NaN must give NaN. Prints the largest errors. */
#include "cascade/runtime.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static int64_t readAll(const char *path, float **d) {
  int64_t s[CASCADE_MAX_RANK], n = 1;
  int r;
  if (cascade_npy_read_f32(path, d, s, &r)) {
    fprintf(stderr, "%s\n", cascade_last_error());
    return -1;
  }
  for (int i = 0; i < r; ++i)
    n *= s[i];
  return n;
}

static int writePoints(const char *path) {
  enum { N = 16384 };
  static float x[3 * N];
  float up = 3.998f;
  for (int i = 0; i < N; ++i) {
    x[i] = (i - N / 2) / 1024.0f;
    x[N + i] = up;
    up = nextafterf(up, INFINITY);
    x[2 * N + i] = i == 0 ? INFINITY : i == 1 ? -INFINITY : NAN;
  }
  int64_t shape[2] = {3, N};
  if (cascade_npy_write_f32(path, x, shape, 2)) {
    fprintf(stderr, "%s\n", cascade_last_error());
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--write"))
    return writePoints(argv[2]);
  float *x, *e, *g;
  int64_t n;
  if (argc != 4 || (n = readAll(argv[1], &x)) < 0 ||
      readAll(argv[2], &e) != n || readAll(argv[3], &g) != n)
    return 2;
  double worstE = 0, worstG = 0;
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = x[i];
    if (isnan(v)) {
      if (!isnan(e[i]) || !isnan(g[i])) {
        printf("x = nan: erf %g, gelu %g\n", e[i], g[i]);
        bad = 1;
      }
      continue;
    }
    // gelu(inf) = inf; gelu(-inf) = -inf * 0 = NaN, as the reference
    // interpreter (and PyTorch) compute it.
    double refE = erf(v), refG = 0.5 * v * (1 + erf(v / sqrt(2.0)));
    double errE = fabs(e[i] - refE);
    double errG =
        isinf(v) ? (g[i] == refG || (isnan(refG) && isnan(g[i])) ? 0 : INFINITY)
                 : fabs(g[i] - refG) / fmax(1, fabs(v));
    if (!(errE <= 5e-7) || !(errG <= 5e-7)) {
      if (bad++ < 10)
        printf("x = %.9g: erf %.9g (want %.9g), gelu %.9g (want %.9g)\n", v,
               e[i], refE, g[i], refG);
    }
    worstE = fmax(worstE, errE);
    worstG = fmax(worstG, errG);
  }
  printf("%lld points: erf error %.2e, gelu error %.2e (per max(1,|x|))\n",
         (long long)n, worstE, worstG);
  return bad ? 1 : 0;
}
