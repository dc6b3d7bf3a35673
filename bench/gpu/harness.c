/* bench/gpu/harness.c -- runs CUDA models compiled by cascade through the
 * runtime's C API (built on the GPU machine by bench/gpu/run.sh).
 *   harness check DIR   DIR/NAME.json with DIR/data/NAME.npy files: loads the inputs
 *                       and weights, runs, compares every output with the
 *                       reference .npy (norm-wise relative error, tolerance
 *                       1e-4, LANGUAGE.md section 8); prints one line
 *   harness time DIR N  draws seeded normal inputs, runs once, prints the
 *                       median device time of N replays of the kernels
 * Exit: 0 ok, 1 failure, 77 no CUDA device. */
#include "cascade/runtime.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find_manifest(const char *dir, char *out, size_t n) {
  DIR *d = opendir(dir);
  struct dirent *e;
  if (!d)
    return 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len > 5 && !strcmp(e->d_name + len - 5, ".json")) {
      snprintf(out, n, "%s/%s", dir, e->d_name);
      closedir(d);
      return 1;
    }
  }
  closedir(d);
  return 0;
}

/* Reads DIR/data/NAME.npy; NULL (after printing why) on failure. */
static float *read_tensor(const char *dir, const char *name) {
  char path[4400];
  float *data = NULL;
  int64_t shape[CASCADE_MAX_RANK];
  int rank = 0;
  snprintf(path, sizeof path, "%s/data/%s.npy", dir, name);
  if (cascade_npy_read_f32(path, &data, shape, &rank) != CASCADE_OK)
    fprintf(stderr, "%s\n", cascade_last_error());
  return data;
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[1], "check") && strcmp(argv[1], "time"))) {
    fprintf(stderr, "usage: harness check DIR | harness time DIR RUNS\n");
    return 2;
  }
  int timing = !strcmp(argv[1], "time");
  const char *dir = argv[2];
  char manifest[4096];
  if (!find_manifest(dir, manifest, sizeof manifest)) {
    fprintf(stderr, "%s: no manifest\n", dir);
    return 1;
  }
  cascade_model *model = NULL;
  cascade_status s = cascade_cuda_model_load(manifest, &model);
  if (s != CASCADE_OK) {
    fprintf(stderr, "%s: %s\n", dir, cascade_last_error());
    return s == CASCADE_UNAVAILABLE ? 77 : 1;
  }
  int roles[3] = {CASCADE_INPUT, CASCADE_WEIGHT, CASCADE_OUTPUT};
  int total = 0;
  for (int r = 0; r < 3; ++r)
    total += cascade_model_count(model, roles[r]);
  void **buffers = calloc(total + 1, sizeof(void *));
  int k = 0, rc = 0;
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < cascade_model_count(model, roles[r]); ++i, ++k) {
      cascade_tensor_info t;
      cascade_model_info(model, roles[r], i, &t);
      buffers[k] = calloc(t.num_elements + 1, sizeof(float));
      if (r == 2)
        continue;
      if (timing) {
        cascade_fill_normal(buffers[k], t.num_elements, 7, k);
        continue;
      }
      float *data = read_tensor(dir, t.name);
      if (!data)
        return 1;
      memcpy(buffers[k], data, t.num_elements * sizeof(float));
      cascade_free(data);
    }
  if (cascade_model_run(model, buffers) != CASCADE_OK) {
    fprintf(stderr, "%s: %s\n", dir, cascade_last_error());
    return 1;
  }
  if (timing) {
    double ms = 0;
    if (cascade_model_device_time(model, atoi(argc > 3 ? argv[3] : "20"),
                                  &ms) != CASCADE_OK) {
      fprintf(stderr, "%s: %s\n", dir, cascade_last_error());
      return 1;
    }
    printf("%s median_ms=%.4f device=%s\n", cascade_model_name(model), ms,
           cascade_model_device(model));
    return 0;
  }
  double worst = 0;
  int first = total - cascade_model_count(model, CASCADE_OUTPUT);
  for (int i = 0; i < cascade_model_count(model, CASCADE_OUTPUT); ++i) {
    cascade_tensor_info t;
    cascade_model_info(model, CASCADE_OUTPUT, i, &t);
    float *ref = read_tensor(dir, t.name);
    if (!ref)
      return 1;
    const float *out = buffers[first + i];
    double diff = 0, norm = 0;
    for (int64_t j = 0; j < t.num_elements; ++j) {
      double d = (double)out[j] - ref[j];
      diff += isfinite(ref[j]) ? d * d : (out[j] == ref[j] ? 0 : INFINITY);
      norm += isfinite(ref[j]) ? (double)ref[j] * ref[j] : 0;
    }
    double err = norm > 0 ? sqrt(diff / norm) : sqrt(diff);
    if (!(err <= worst))
      worst = err;
    cascade_free(ref);
  }
  rc = worst <= 1e-4 ? 0 : 1;
  printf("%-24s %s max_rel_err=%.3e device=%s\n", cascade_model_name(model),
         rc ? "FAIL" : "ok", worst, cascade_model_device(model));
  return rc;
}
