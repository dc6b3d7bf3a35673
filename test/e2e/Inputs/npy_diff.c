/* npy_diff A.npy B.npy TOL: exits 0 when the two files have the same shape
 * and a norm-wise relative difference under TOL. */
#include "cascade/runtime.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 4)
    return 2;
  float *a, *b;
  int64_t sa[CASCADE_MAX_RANK], sb[CASCADE_MAX_RANK];
  int ra, rb;
  if (cascade_npy_read_f32(argv[1], &a, sa, &ra) ||
      cascade_npy_read_f32(argv[2], &b, sb, &rb)) {
    fprintf(stderr, "%s\n", cascade_last_error());
    return 1;
  }
  int64_t n = 1;
  if (ra != rb)
    return 1;
  for (int i = 0; i < ra; ++i) {
    if (sa[i] != sb[i])
      return 1;
    n *= sa[i];
  }
  double diff = 0, norm = 0;
  for (int64_t i = 0; i < n; ++i) {
    diff += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    norm += (double)b[i] * b[i];
  }
  double rel = norm > 0 ? sqrt(diff / norm) : sqrt(diff);
  printf("rel=%.3g\n", rel);
  return rel < atof(argv[3]) ? 0 : 1;
}
