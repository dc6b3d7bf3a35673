/* npy_compare.c -- norm-wise relative error of two float32 .npy files,
 * ||a - b||_2 / ||b||_2 in double (as `cascade run --check` measures it).
 * Usage: npy_compare A.npy B.npy   prints rel_err=X; exit 1 when the element
 * counts differ. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *load(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: cannot open\n", path);
    exit(1);
  }
  unsigned char h[12];
  if (fread(h, 1, 10, f) != 10 || memcmp(h, "\x93NUMPY", 6)) {
    fprintf(stderr, "%s: not a .npy file\n", path);
    exit(1);
  }
  long hl = h[8] | (h[9] << 8);
  if (h[6] >= 2) {
    if (fread(h + 10, 1, 2, f) != 2) exit(1);
    hl |= ((long)h[10] << 16) | ((long)h[11] << 24);
  }
  char *hdr = calloc(1, hl + 1);
  if (fread(hdr, 1, hl, f) != (size_t)hl || !strstr(hdr, "<f4")) {
    fprintf(stderr, "%s: expected '<f4'\n", path);
    exit(1);
  }
  long start = ftell(f);
  fseek(f, 0, SEEK_END);
  *n = (ftell(f) - start) / 4;
  fseek(f, start, SEEK_SET);
  float *p = malloc(*n * 4 + 4);
  if (fread(p, 4, *n, f) != *n) exit(1);
  fclose(f);
  free(hdr);
  return p;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s A.npy B.npy\n", argv[0]);
    return 2;
  }
  size_t na, nb;
  float *a = load(argv[1], &na), *b = load(argv[2], &nb);
  if (na != nb) {
    fprintf(stderr, "element counts differ: %zu vs %zu\n", na, nb);
    return 1;
  }
  double d = 0, r = 0;
  for (size_t i = 0; i < na; ++i) {
    double e = (double)a[i] - b[i];
    d += e * e, r += (double)b[i] * b[i];
  }
  printf("rel_err=%.3e\n", r > 0 ? sqrt(d / r) : sqrt(d));
  return 0;
}
