/*===- cascade/runtime.h - Cascade runtime C ABI ----------------*- C -*-===*\
 *
 * The C ABI of the Cascade runtime: load a compiled model, describe its
 * tensors, run it, read and write NumPy .npy files, draw seeded random
 * inputs. C99 compatible; implemented in C++17 with no exceptions escaping.
 *
 * Errors. Every fallible function returns a cascade_status. On failure,
 * cascade_last_error() returns a message describing it (thread local; valid
 * until the next failure on the same thread). Nothing aborts on bad input.
 *
 * Artifacts. A compiled CPU model (shared library or object) exports two
 * symbols:
 *   const char cascade_manifest[];       NUL-terminated JSON, see below
 *   void cascade_entry(void **buffers);  runs the model
 * `buffers` holds one float* per tensor, in this order: all inputs (in
 * manifest order), then all weights, then all outputs. Inputs and weights
 * are read, outputs are written. Each buffer holds the tensor's elements in
 * C (row-major) order as f32, whatever the declared dtype.
 *
 * Manifest (format 1; unknown keys are ignored):
 *   {"format": 1, "model": "attention", "function": "attention",
 *    "target": "x86_64",
 *    "inputs":  [{"name": "Q", "shape": [64, 128], "dtype": "f32"}],
 *    "weights": [{"name": "WQ", "shape": [12, 64, 768], "dtype": "f32",
 *                 "key": "layer.0.q", "file": "model.safetensors"}],
 *    "outputs": [{"name": "AV", "shape": [64, 128], "dtype": "f32"}]}
 * "format", "model", "inputs" and "outputs" are required; "weights" may be
 * empty or absent; "key" defaults to the weight's name; "file" may be absent
 * or null. dtype is one of "f32", "f16", "bf16". A rank-0 tensor has shape
 * []. Rank is at most CASCADE_MAX_RANK; names are unique, non-empty, contain
 * no '/', '\\', '=' or control characters and do not start with '.'.
 *
 * Standalone executable (cascade_exe_main, see runtime/README.md):
 *   PROG [--input NAME=FILE.npy ...] [--output-dir DIR] [--random-inputs]
 *        [--seed=S] [--bench=N] [--profile] [--help]
 * Exit codes: 0 success, 1 bad input (unreadable file, wrong shape, ...),
 * 2 bad command line (unknown option, missing input, ...).
\*===----------------------------------------------------------------------===*/

#ifndef CASCADE_RUNTIME_H
#define CASCADE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest tensor rank the runtime handles (manifests and .npy files). */
#define CASCADE_MAX_RANK 16

typedef enum {
  CASCADE_OK = 0,
  CASCADE_ERROR = 1,
  CASCADE_UNAVAILABLE = 77 /* device or emulator not available: skip */
} cascade_status;

/* Message of the last failure on this thread ("" if none). */
const char *cascade_last_error(void);

/*===--- Models -----------------------------------------------------------===*/

typedef enum {
  CASCADE_INPUT = 0,
  CASCADE_WEIGHT = 1,
  CASCADE_OUTPUT = 2
} cascade_role;

/* Describes one tensor of a model. Pointers stay valid until the model is
 * freed. */
typedef struct {
  const char *name;
  int rank;
  const int64_t *shape;    /* rank entries */
  int64_t num_elements;    /* product of shape (1 for rank 0) */
  const char *dtype;       /* declared element type: "f32", "f16", "bf16" */
  const char *weight_key;  /* NULL unless a weight */
  const char *weight_file; /* NULL if none */
} cascade_tensor_info;

typedef struct cascade_model cascade_model;

/* dlopen()s a compiled model (RTLD_NOW | RTLD_LOCAL), reads and validates its
 * cascade_manifest and finds cascade_entry. As with dlopen, a path without a
 * '/' is searched for in the library path: write "./model.so". */
cascade_status cascade_model_load(const char *shared_library_path,
                                  cascade_model **out);

/* Same as cascade_model_load for a model linked into the program. The
 * manifest is parsed at once and need not outlive the call. */
cascade_status cascade_model_from_symbols(const char *manifest_json,
                                          void (*entry)(void **),
                                          cascade_model **out);

/* Number of tensors with `role`; -1 on a NULL model or a bad role. */
int cascade_model_count(const cascade_model *model, cascade_role role);

/* Fills *out with tensor `index` (0-based, manifest order) of `role`. */
cascade_status cascade_model_info(const cascade_model *model, cascade_role role,
                                  int index, cascade_tensor_info *out);

/* Index of the tensor of `role` called `name`, or -1 if absent. */
int cascade_model_find(const cascade_model *model, cascade_role role,
                       const char *name);

/* The manifest's "model" name ("" for a NULL model). */
const char *cascade_model_name(const cascade_model *model);

/* Runs the model on `buffers` (inputs, then weights, then outputs; one
 * float* each; NULL allowed only for tensors with no elements). Any
 * float-aligned buffer works; buffers on a 64-byte boundary (cascade_alloc)
 * run fastest, since the kernels' 64-byte vector loads then never straddle
 * two cache lines: a GEMM reading a 16-byte-aligned weight was 15% slower. */
cascade_status cascade_model_run(cascade_model *model, void *const *buffers);

/* Frees the model (and dlclose()s its library). NULL is a no-op. */
void cascade_model_free(cascade_model *model);

/*===--- CUDA models ------------------------------------------------------===*/

/* A model compiled with --target=cuda is a folder: NAME.json (the manifest:
 * format 1 plus "target": "cuda", "arch", "ptx", optional "cubin",
 * "scratch" (bytes of each scratch buffer) and "kernels" (the launches in
 * order: name, grid, block, shared_bytes, args; an argument is
 * {"tensor": NAME}, {"scratch": INDEX}, {"i64": N} or {"f32": X})), NAME.ptx
 * and NAME.sm_XX.cubin. The CUDA driver is loaded with dlopen at run time
 * ("libcuda.so.1", or $CASCADE_CUDA_LIBRARY); the runtime needs no CUDA
 * headers or libraries to build. */

/* CASCADE_OK when a CUDA device can be used; CASCADE_UNAVAILABLE with a
 * message starting "no CUDA device" when there is no driver, only the
 * toolkit's stub driver, or no device. */
cascade_status cascade_cuda_available(void);

/* Loads a CUDA model from its manifest path: reads the cubin when it was
 * built for this device's architecture, else the PTX; allocates the device
 * buffers. cascade_model_run then copies inputs and weights to the device,
 * runs every kernel, and copies the outputs back. Returns
 * CASCADE_UNAVAILABLE when no device can be used. */
cascade_status cascade_cuda_model_load(const char *manifest_path,
                                       cascade_model **out);

/* Device time of a CUDA model: the median over `runs` replays of its
 * kernels (CUDA events; no copies), on the data of the last run, after one
 * warm-up replay. Fails for CPU models. */
cascade_status cascade_model_device_time(cascade_model *model, int runs,
                                         double *median_ms);

/* Where the model runs, e.g. "NVIDIA H100 (sm_90, loaded from cubin)";
 * "" for CPU models. */
const char *cascade_model_device(const cascade_model *model);

/*===--- Profiles --------------------------------------------------------===*/

/* A model compiled with `--profile` (cascade compile/run) times each of its
 * steps: an equation, or a group the compiler runs as one (a micro-kernel
 * with its fused epilogue, the fused one-pass attention loop), as the
 * manifest's "profile" array lists them. Its counters add up over every
 * cascade_model_run since the load or the last reset. Steps inside an
 * outlined layer count one call per layer. */
typedef struct {
  const char *name;      /* the step's last equation */
  const char *function;  /* the model function, or an outlined layer's */
  const char *equations; /* the equations it runs, space-separated */
  int64_t flops;         /* arithmetic per call (as `cascade analyze`) */
  int64_t calls;         /* since the load or the last reset */
  double seconds;        /* the same */
} cascade_profile_step;

/* Number of timed steps; 0 when the model was compiled without --profile,
 * -1 for a NULL model. */
int cascade_model_profile_size(const cascade_model *model);

/* Fills *out with step `index` (0-based, execution order). */
cascade_status cascade_model_profile_step(const cascade_model *model,
                                          int index, cascade_profile_step *out);

/* Zeroes the counters (after a warm-up run, say). */
void cascade_model_profile_reset(cascade_model *model);

/* Writes the profile as a table (time per run, share of the run, GFLOP/s,
 * per step in execution order) into buf, snprintf-style: returns the length
 * the whole text needs, writing at most size bytes including the final
 * NUL. Empty text for a model without a profile or no run. */
size_t cascade_model_profile_format(const cascade_model *model, char *buf,
                                    size_t size);

/* For a profiled model linked into the program: `counters` is its
 * `cascade_profile` (or `cascade_<model>_profile`) symbol. cascade_model_load
 * does this itself. Fails when the manifest lists no steps or counters is
 * NULL. */
cascade_status cascade_model_attach_profile(cascade_model *model,
                                            int64_t *counters);

/*===--- NumPy .npy files -------------------------------------------------===*/

/* Reads a .npy file (format 1.0, 2.0 or 3.0; C order; dtype '<f4', '<f2',
 * '<f8', a little-endian integer such as '<i8' or '|u1', or '|b1'; 0-d
 * arrays too) into an f32 array from cascade_alloc that the caller frees
 * with cascade_free. An integer beyond 2^24 (not exact in f32) is an error.
 * `shape` must have room for CASCADE_MAX_RANK entries. On failure *data is
 * NULL and the message names the file and the problem. */
cascade_status cascade_npy_read_f32(const char *path, float **data,
                                    int64_t *shape, int *rank);

/* Same, into doubles (cascade_free them): integers exact to 2^53 and
 * rounded beyond, as NumPy's float64 conversion does; for values that are
 * not tensors of the model (an imported ONNX model's shapes, axes and
 * Slice bounds given as inputs, where INT64_MAX means "to the end"). */
cascade_status cascade_npy_read_f64(const char *path, double **data,
                                    int64_t *shape, int *rank);

/* Writes a '<f4' .npy file (format 1.0). Writes `path`.tmp and renames it
 * over `path`, so a failed write leaves an existing file untouched. */
cascade_status cascade_npy_write_f32(const char *path, const float *data,
                                     const int64_t *shape, int rank);

/* A buffer of `bytes` on a 64-byte boundary (a cache line), for tensors;
 * freed with cascade_free. NULL when out of memory. */
void *cascade_alloc(size_t bytes);

/* Frees memory returned by the runtime. NULL is a no-op. */
void cascade_free(void *p);

/*===--- Safetensors weight files -----------------------------------------===*/

/* An open safetensors file: memory-mapped read-only, its header parsed and
 * validated (header length within the file, strict JSON, every tensor's
 * dtype, shape and data_offsets consistent, in bounds and not overlapping).
 * Reads never go outside the mapping. */
typedef struct cascade_weights cascade_weights;

/* Opens and validates `path`. On failure *out is NULL and the message names
 * the file and the problem. */
cascade_status cascade_weights_open(const char *path, cascade_weights **out);

/* The same for a file already in memory (`size` bytes at `data`, which must
 * outlive the handle); `name` is used in messages. */
cascade_status cascade_weights_open_memory(const void *data, uint64_t size,
                                           const char *name,
                                           cascade_weights **out);

/* Number of tensors in the file, or -1 for a NULL handle. */
int cascade_weights_count(const cascade_weights *w);

/* Stored shape and dtype ("F32", "F16", "BF16", "F64", ...) of tensor `key`;
 * `shape` must have room for CASCADE_MAX_RANK entries. The dtype string
 * lives as long as the handle. */
cascade_status cascade_weights_info(const cascade_weights *w, const char *key,
                                    int64_t *shape, int *rank,
                                    const char **dtype);

/* Converts tensor `key` (F32, F16, BF16 or F64) to f32 into dst, which holds
 * `count` floats: the stored element count must be `count` (the shape may
 * differ: a row-major re-view). */
cascade_status cascade_weights_read_f32(const cascade_weights *w,
                                        const char *key, float *dst,
                                        int64_t count);

/* Unmaps and frees. NULL is a no-op. */
void cascade_weights_close(cascade_weights *w);

/* Whether `declared` re-views `stored` (same element count, row-major) only
 * by splitting or merging adjacent dimensions, unit dimensions aside:
 * [768, 768] as [12, 64, 768] is (1), [6, 8] as [8, 6] is not (0): that
 * reads the data in another layout, a transposed weight by mistake. */
int cascade_shape_is_refinement(const int64_t *stored, int stored_rank,
                                const int64_t *declared, int declared_rank);

/* Whether tensor `key` of `w`, declared with `shape`, is read in its stored
 * layout (cascade_shape_is_refinement); CASCADE_OK too when `w` has no such
 * key (cascade_weights_read_f32 reports that). Otherwise CASCADE_ERROR, and
 * cascade_last_error() says "declared [8, 6] but stored as [6, 8] ('w' in
 * FILE): ...", to follow "weight 'NAME' is " in a warning. */
cascade_status cascade_weights_check_layout(const cascade_weights *w,
                                            const char *key,
                                            const int64_t *shape, int rank);

/*===--- Utilities --------------------------------------------------------===*/

/* Fills data[0..n) with standard-normal values, identical on every platform.
 * A (seed, stream) pair seeds xoshiro256** through splitmix64; Box-Muller
 * turns each pair of draws into two values. Filling n values gives a prefix
 * of filling n + 1 values. See runtime/src/Random.cpp for the exact
 * algorithm. */
void cascade_fill_normal(float *data, int64_t n, uint64_t seed,
                         uint64_t stream);

/* Milliseconds on CLOCK_MONOTONIC (arbitrary origin). */
double cascade_now_ms(void);

/* A compiled model allocates its scratch buffers on every call. By default
 * glibc maps buffers over 128 KiB fresh from the kernel each time and
 * unmaps them on free, so every call pays a page fault per 4 KiB of scratch
 * (about 1 ms of a 15 ms BERT layer). This keeps freed buffers of up to 32
 * MiB in the heap for reuse instead (glibc's M_MMAP_THRESHOLD and
 * M_TRIM_THRESHOLD; process-wide; a no-op elsewhere). Call it once at the
 * start of a program that runs models repeatedly: `cascade run` and
 * standalone executables do. */
void cascade_reuse_scratch_memory(void);

/* main() of a standalone model executable; see runtime/src/exe_stub.c.
 * `profile` is the model's cascade_profile counters, NULL when it was
 * compiled without --profile. */
int cascade_exe_main(int argc, char **argv, const char *manifest_json,
                     void (*entry)(void **), int64_t *profile);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CASCADE_RUNTIME_H */
