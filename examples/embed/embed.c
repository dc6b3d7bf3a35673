/* embed.c -- link a model compiled by Cascade into a C program.
 *
 * The model's object file (cascade compile MODEL.ein -o DIR writes DIR/NAME.o
 * and DIR/NAME.h) is linked in; the Cascade runtime (libcascade_runtime.a)
 * reads the weights from a safetensors file by the keys in the model's
 * manifest, and the .npy inputs. Build with the Makefile next to this file:
 *   make MODEL=bert_base EIN=../models/bert_base.ein
 *   ./embed WEIGHTS.safetensors OUT_DIR INPUT.npy...   (inputs in order)
 * prints each output's name, shape and first values, writes OUT_DIR/NAME.npy.
 */
#include "cascade/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MODEL is the model's name: its header declares cascade_<MODEL>_entry and
 * cascade_<MODEL>_manifest. */
#define CAT3(a, b, c) a##b##c
#define SYMBOL(model, suffix) CAT3(cascade_, model, suffix)
#define STR2(x) #x
#define STR(x) STR2(x)
#include STR(MODEL.h)

static int fail(const char *what) {
  fprintf(stderr, "embed: error: %s: %s\n", what, cascade_last_error());
  return 1;
}

int main(int argc, char **argv) {
  /* The model allocates scratch per call: let glibc reuse it. */
  cascade_reuse_scratch_memory();
  cascade_model *model = NULL;
  if (cascade_model_from_symbols(SYMBOL(MODEL, _manifest),
                                 SYMBOL(MODEL, _entry), &model) != CASCADE_OK)
    return fail("model");
  int counts[3], total = 0;
  for (int role = 0; role < 3; ++role)
    total += counts[role] = cascade_model_count(model, (cascade_role)role);
  if (argc != 3 + counts[CASCADE_INPUT]) {
    fprintf(stderr, "usage: %s WEIGHTS.safetensors OUT_DIR", argv[0]);
    for (int i = 0; i < counts[CASCADE_INPUT]; ++i) {
      cascade_tensor_info info;
      cascade_model_info(model, CASCADE_INPUT, i, &info);
      fprintf(stderr, " %s.npy", info.name);
    }
    fprintf(stderr, "\n");
    return 2;
  }
  cascade_weights *weights = NULL;
  if (cascade_weights_open(argv[1], &weights) != CASCADE_OK)
    return fail("weights");

  /* One buffer per tensor: inputs, then weights, then outputs. */
  void **buffers = calloc((size_t)total, sizeof(void *));
  int next = 0;
  for (int role = 0; role < 3; ++role) {
    for (int i = 0; i < counts[role]; ++i, ++next) {
      cascade_tensor_info info;
      cascade_model_info(model, (cascade_role)role, i, &info);
      if (role == CASCADE_INPUT) {
        float *data;
        int64_t shape[CASCADE_MAX_RANK];
        int rank;
        if (cascade_npy_read_f32(argv[3 + i], &data, shape, &rank) !=
            CASCADE_OK)
          return fail(info.name);
        int64_t count = 1;
        for (int d = 0; d < rank; ++d)
          count *= shape[d];
        if (count != info.num_elements) {
          fprintf(stderr, "embed: error: input '%s' has %lld elements, "
                          "%lld expected\n", info.name, (long long)count,
                  (long long)info.num_elements);
          return 1;
        }
        buffers[next] = data;
      } else {
        float *data = calloc((size_t)info.num_elements + 1, sizeof(float));
        if (role == CASCADE_WEIGHT &&
            cascade_weights_read_f32(weights, info.weight_key, data,
                                     info.num_elements) != CASCADE_OK)
          return fail(info.name);
        buffers[next] = data;
      }
    }
  }

  double start = cascade_now_ms();
  if (cascade_model_run(model, buffers) != CASCADE_OK)
    return fail("run");
  printf("%s ran in %.3f ms\n", cascade_model_name(model),
         cascade_now_ms() - start);

  int first = counts[CASCADE_INPUT] + counts[CASCADE_WEIGHT];
  for (int i = 0; i < counts[CASCADE_OUTPUT]; ++i) {
    cascade_tensor_info info;
    cascade_model_info(model, CASCADE_OUTPUT, i, &info);
    const float *out = buffers[first + i];
    printf("%s [", info.name);
    for (int d = 0; d < info.rank; ++d)
      printf(d ? ", %lld" : "%lld", (long long)info.shape[d]);
    printf("]:");
    for (int64_t k = 0; k < info.num_elements && k < 4; ++k)
      printf(" %g", out[k]);
    printf("\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", argv[2], info.name);
    if (cascade_npy_write_f32(path, out, info.shape, info.rank) != CASCADE_OK)
      return fail(path);
  }
  for (int i = 0; i < total; ++i)
    free(buffers[i]);
  free(buffers);
  cascade_weights_close(weights);
  cascade_model_free(model);
  return 0;
}
