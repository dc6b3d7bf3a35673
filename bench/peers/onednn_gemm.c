/* onednn_gemm.c -- the oneDNN peer for GEMM (Debian's libdnnl 2.x, OpenMP
 * runtime), in the layout of examples/matmul.ein:
 *   C[m,n] = sum_k A[m,k] * B[k,n]   (row-major A[M,K], B[K,N], C[M,N]).
 * The matmul primitive chooses the weights' layout (format `any`); B is
 * reordered into it once, outside the timed loop, as an inference runtime
 * prepares its weights when a model is loaded.
 *
 * Usage: onednn_gemm M K N THREADS RUNS [--inputs DIR] [--output C.npy]
 * Prints median_ms= over RUNS calls after 3 warm-up calls, and checksum=.
 */
#include "common.h"
#include <oneapi/dnnl/dnnl.h>

#define CHECK(call)                                                            \
  do {                                                                         \
    dnnl_status_t s_ = (call);                                                 \
    if (s_ != dnnl_success) {                                                  \
      fprintf(stderr, "%s: oneDNN status %d\n", #call, (int)s_);               \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

typedef struct {
  dnnl_primitive_t matmul;
  dnnl_stream_t stream;
  dnnl_exec_arg_t args[3];
} gemm_t;

static void run(void *p) {
  gemm_t *g = p;
  CHECK(dnnl_primitive_execute(g->matmul, g->stream, 3, g->args));
  CHECK(dnnl_stream_wait(g->stream));
}

int main(int argc, char **argv) {
  bench_io io = bench_parse_io(&argc, argv);
  if (argc != 6) {
    fprintf(stderr, "usage: %s M K N THREADS RUNS [--inputs DIR] [--output C.npy]\n", argv[0]);
    return 2;
  }
  int M = atoi(argv[1]), K = atoi(argv[2]), N = atoi(argv[3]);
  int threads = atoi(argv[4]), runs = atoi(argv[5]);
  bench_threads(threads);
  float *A = bench_alloc((size_t)M * K), *B = bench_alloc((size_t)K * N),
        *C = bench_alloc((size_t)M * N);
  bench_input(io.inputs, "A", A, (size_t)M * K, 1, 1.0f);
  bench_input(io.inputs, "B", B, (size_t)K * N, 2, 1.0f);

  dnnl_engine_t engine;
  dnnl_stream_t stream;
  CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
  CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
  dnnl_memory_desc_t a_md, b_md, b_any, c_md;
  CHECK(dnnl_memory_desc_init_by_tag(&a_md, 2, (dnnl_dims_t){M, K}, dnnl_f32, dnnl_ab));
  CHECK(dnnl_memory_desc_init_by_tag(&b_md, 2, (dnnl_dims_t){K, N}, dnnl_f32, dnnl_ab));
  CHECK(dnnl_memory_desc_init_by_tag(&b_any, 2, (dnnl_dims_t){K, N}, dnnl_f32, dnnl_format_tag_any));
  CHECK(dnnl_memory_desc_init_by_tag(&c_md, 2, (dnnl_dims_t){M, N}, dnnl_f32, dnnl_ab));
  dnnl_matmul_desc_t desc;
  CHECK(dnnl_matmul_desc_init(&desc, &a_md, &b_any, NULL, &c_md));
  dnnl_primitive_desc_t pd;
  CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL));
  const dnnl_memory_desc_t *b_chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);

  dnnl_memory_t a_mem, b_user, b_mem, c_mem;
  CHECK(dnnl_memory_create(&a_mem, &a_md, engine, A));
  CHECK(dnnl_memory_create(&b_user, &b_md, engine, B));
  CHECK(dnnl_memory_create(&c_mem, &c_md, engine, C));
  if (dnnl_memory_desc_equal(b_chosen, &b_md)) {
    b_mem = b_user;
  } else { /* the weights in the primitive's layout, once */
    CHECK(dnnl_memory_create(&b_mem, b_chosen, engine, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t reorder;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, &b_md, engine, b_chosen, engine, NULL));
    CHECK(dnnl_primitive_create(&reorder, rpd));
    dnnl_exec_arg_t rargs[2] = {{DNNL_ARG_FROM, b_user}, {DNNL_ARG_TO, b_mem}};
    CHECK(dnnl_primitive_execute(reorder, stream, 2, rargs));
    CHECK(dnnl_stream_wait(stream));
  }
  gemm_t g = {.stream = stream};
  CHECK(dnnl_primitive_create(&g.matmul, pd));
  g.args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, a_mem};
  g.args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, b_mem};
  g.args[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, c_mem};
  bench_time(run, &g, 3, runs);
  printf("checksum=%.6g\n", bench_checksum(C, (size_t)M * N));
  if (io.output) bench_npy_write(io.output, C, (size_t[]){M, N}, 2);
  return 0;
}
