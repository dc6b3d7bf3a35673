//===- WgslEmitter.h - gpu.func kernels as WGSL compute shaders -*- C++ -*-===//
//
// The project's WGSL translation: one outlined kernel (gpu.func over
// statically shaped memrefs, with scf, arith and math in its body) becomes
// one WGSL module with a single `@compute` entry point. Memrefs become
// `array<f32>` storage buffers indexed row-major; `index` becomes i32.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_COMPILER_TARGET_WGSLEMITTER_H
#define CASCADE_COMPILER_TARGET_WGSLEMITTER_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Support/LLVM.h"
#include <array>
#include <string>
#include <vector>

namespace cascade {

/// The WebGPU limits a kernel is built within, and the storage format.
struct WgslOptions {
  int64_t maxStorageBuffers = 8; // maxStorageBuffersPerShaderStage
  int64_t maxInvocations = 256;  // maxComputeInvocationsPerWorkgroup
  int64_t maxWorkgroupsPerDim = 65535;
  bool f16 = false; // tensors stored as f16 (arithmetic stays f32)
};

/// Where a kernel argument lives: its own binding, or a slice of the
/// kernel's pack buffer (when the kernel needs more storage buffers than
/// the limit allows).
struct WgslArgument {
  int64_t binding = -1;    // own binding; -1 when packed
  int64_t packOffset = -1; // elements into the pack buffer when packed
  int64_t elements = 0;
  bool written = false;
};

struct WgslKernel {
  std::string code;
  std::array<int64_t, 3> workgroupSize{1, 1, 1};
  std::array<int64_t, 3> dispatch{1, 1, 1};
  std::vector<WgslArgument> arguments; // one per gpu.func argument
  int64_t packBinding = -1;            // -1: no pack buffer
  int64_t packElements = 0;
};

/// Translates `kernel`, launched on `grid` workgroups. Scalar arguments
/// must be given as constants in `scalarArgs` (null for memrefs). Reports
/// what it cannot translate on the offending op.
mlir::LogicalResult emitWgsl(mlir::gpu::GPUFuncOp kernel,
                             std::array<int64_t, 3> grid,
                             llvm::ArrayRef<mlir::Attribute> scalarArgs,
                             const WgslOptions &options, WgslKernel &out);

} // namespace cascade

#endif
