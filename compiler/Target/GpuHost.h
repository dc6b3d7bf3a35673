//===- GpuHost.h - What the GPU code generators share -----------*- C++ -*-===//
//
// The CUDA and WebGPU targets take the same route to kernels (loops, one
// parallel nest per kernel, gpu.launch, outlining) and read the same host
// function afterwards: a straight list of scratch allocations and launches.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_COMPILER_TARGET_GPUHOST_H
#define CASCADE_COMPILER_TARGET_GPUHOST_H

#include "compiler/Target/Target.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/Support/JSON.h"
#include <optional>

namespace cascade {

/// Loops to kernels: the GPU loop nests, mapped to blocks and threads and
/// wrapped in gpu.launch.
std::string gpuLaunchPipeline(int64_t blockSize, int64_t registerTile = 0);

/// Clones the constants a gpu.launch body uses into it, so they are not
/// passed as kernel arguments.
void sinkLaunchConstants(mlir::ModuleOp module);

/// The value of an index or integer constant, if `v` is one.
std::optional<int64_t> constantIndex(mlir::Value v);

/// Runs the textual pass pipeline `text` on `module` with the IR printing
/// options; a pipeline that does not parse is reported on `anchor`.
mlir::LogicalResult runPipelineText(mlir::ModuleOp module,
                                    const std::string &text,
                                    const IRPrinting &printing,
                                    mlir::Operation *anchor);

/// The buffers of the host function after outlining: the model's tensors
/// (its arguments) and its scratch buffers, numbered in order.
struct HostBuffers {
  explicit HostBuffers(mlir::func::FuncOp host) : host(host) {}
  mlir::func::FuncOp host;
  llvm::DenseMap<mlir::Value, int64_t> scratch;
  /// `{"tensor": NAME}` or `{"scratch": N}` for a buffer; std::nullopt for
  /// any other value.
  std::optional<llvm::json::Object> describe(mlir::Value v) const;
};

/// Walks the host function of `buffers`: each static allocation becomes
/// the next scratch buffer (`onScratch` sees its type), each launch goes to
/// `onLaunch`; constants and deallocations are skipped, and anything else
/// is an internal error.
mlir::LogicalResult walkHostLaunches(
    HostBuffers &buffers, llvm::function_ref<void(mlir::MemRefType)> onScratch,
    llvm::function_ref<mlir::LogicalResult(mlir::gpu::LaunchFuncOp)> onLaunch);

} // namespace cascade

#endif
