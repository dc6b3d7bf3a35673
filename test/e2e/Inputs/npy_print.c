/* npy_print FILE.npy: prints a rank-2 .npy file row by row (%g). */
#include "cascade/runtime.h"
#include <stdio.h>

int main(int argc, char **argv) {
  float *d;
  int64_t s[CASCADE_MAX_RANK];
  int r;
  if (argc != 2 || cascade_npy_read_f32(argv[1], &d, s, &r) || r != 2)
    return 1;
  for (int64_t i = 0; i < s[0]; ++i) {
    printf("row %lld:", (long long)i);
    for (int64_t j = 0; j < s[1]; ++j)
      printf(" %g", d[i * s[1] + j]);
    printf("\n");
  }
  cascade_free(d);
  return 0;
}
