// halide_gemm.cpp -- the Halide 14 peer for GEMM, in the layout of
// examples/matmul.ein: C[m,n] = sum_k A[m,k] * B[k,n], row-major.
//
// A separate executable linked by hand against libHalide14.so (Halide's CMake
// package clobbers LLVM 22's, so it never enters the project's CMake build;
// bench/build.sh compiles this file with one g++ line).  JIT-compiled for the
// host at start-up, then timed like the other peers.
//
// Schedule: 48x8 register tiles (3 AVX-512 vectors x 8 rows = 24
// accumulators), B packed per 48-column panel (a contiguous [K][48] copy,
// reused by every row tile of the panel), panels in parallel across threads.
//
// Usage: halide_gemm M K N THREADS RUNS     prints median_ms= and checksum=
#include "Halide.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace Halide;

int main(int argc, char **argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s M K N THREADS RUNS\n", argv[0]);
    return 2;
  }
  const int M = std::atoi(argv[1]), K = std::atoi(argv[2]), N = std::atoi(argv[3]);
  const int threads = std::atoi(argv[4]), runs = std::atoi(argv[5]);
  // Halide's runtime reads HL_NUM_THREADS when its pool starts (first realize).
  setenv("HL_NUM_THREADS", std::to_string(threads).c_str(), 1);

  Target target = get_jit_target_from_environment();
  const int vec = target.natural_vector_size<float>(); // 16 with AVX-512, 8 with AVX2
  const int TX = 48, TY = 8;                           // register tile (n x m)

  // Halide's first dimension is the contiguous one: A(k, m), B(n, k), C(n, m).
  Buffer<float> A(K, M), B(N, K), C(N, M);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k) A(k, m) = nd(rng);
  for (int k = 0; k < K; ++k)
    for (int n = 0; n < N; ++n) B(n, k) = nd(rng);

  Var x("x"), y("y"), xo("xo"), yo("yo"), xi("xi"), yi("yi");
  RDom k(0, K, "k");
  Func Bp("Bp"), prod("prod"), out("out");
  // When 48 does not divide N (N = 1024), ShiftInwards moves the last tile
  // back inside C (recomputing a few columns), so B is never read out of
  // range; the clamp only makes that plain to bounds inference.
  // (GuardWithIf there compiled to an empty pipeline in Halide 14.)
  Bp(x, y) = B(clamp(x, 0, N - 1), y);
  prod(x, y) = 0.f;
  prod(x, y) += A(k, y) * Bp(x, k);
  out(x, y) = prod(x, y);

  out.tile(x, y, xo, yo, xi, yi, TX, TY, TailStrategy::ShiftInwards)
      .reorder(xi, yi, yo, xo)
      .vectorize(xi, vec)
      .unroll(xi)
      .unroll(yi);
  if (threads > 1) out.parallel(xo);
  // Packing: the 48-column panel of B, [K][48] contiguous, once per panel.
  Bp.compute_at(out, xo).bound_extent(x, TX).vectorize(x, vec);
  prod.compute_at(out, yo).vectorize(x, vec).unroll(x).unroll(y);
  prod.update().reorder(x, y, k).vectorize(x, vec).unroll(x).unroll(y);
  out.bound(x, 0, N).bound(y, 0, M);

  out.jit_handlers().custom_error = [](JITUserContext *, const char *msg) {
    std::fprintf(stderr, "halide_gemm: %s\n", msg);
    std::exit(1);
  };
  out.compile_jit(target);
  for (int i = 0; i < 3; ++i) out.realize(C);

  std::vector<double> t(runs);
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    out.realize(C);
    t[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  std::sort(t.begin(), t.end());
  double med = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
  // Spot check one element against a double-precision dot product.
  double ref = 0;
  for (int kk = 0; kk < K; ++kk) ref += (double)A(kk, M / 2) * B(N / 3, kk);
  double err = std::abs(ref - C(N / 3, M / 2)) / (std::abs(ref) + 1e-3);
  if (err > 1e-3) std::fprintf(stderr, "halide_gemm: wrong result (rel err %g)\n", err);
  double sum = 0;
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) sum += C(n, m);
  std::printf("median_ms=%.4f\nchecksum=%.6g\n", med, sum);
  return err > 1e-3;
}
