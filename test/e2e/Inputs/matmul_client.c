/* Links the header and shared library that `cascade compile` wrote for
 * test/e2e/Inputs/mm.ein and checks the result against a plain C float64
 * matmul of the same inputs (relative error under 1e-5). */
#include "matmul.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { L = 64, I = 32, J = 48 }; /* the ranks of test/e2e/Inputs/mm.ein */

int main(void) {
  static float A[L * I], B[L * J], Z[I * J];
  for (int k = 0; k < L * I; ++k)
    A[k] = (float)((k * 37) % 101) / 50.0f - 1.0f;
  for (int k = 0; k < L * J; ++k)
    B[k] = (float)((k * 53) % 97) / 48.0f - 1.0f;
  cascade_matmul(A, B, Z);
  double diff = 0, norm = 0;
  for (int i = 0; i < I; ++i)
    for (int j = 0; j < J; ++j) {
      double ref = 0;
      for (int l = 0; l < L; ++l)
        ref += (double)A[l * I + i] * B[l * J + j];
      diff += (Z[i * J + j] - ref) * (Z[i * J + j] - ref);
      norm += ref * ref;
    }
  double rel = sqrt(diff / norm);
  printf("rel_err=%.3g\n", rel);
  /* The generic entry point computes the same. */
  static float Z2[I * J];
  void *buffers[] = {A, B, Z2};
  cascade_matmul_entry(buffers);
  for (int k = 0; k < I * J; ++k)
    if (Z2[k] != Z[k]) {
      printf("cascade_matmul_entry differs at %d\n", k);
      return 1;
    }
  return rel < 1e-5 ? 0 : 1;
}
