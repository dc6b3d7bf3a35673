//===- TiledKernel.h - Schedule tile loops around a micro-kernel -*- C++ -*-===//
//
// A schedule that tiles a contraction (`split N -> N1, N0 = 256`, `parallel
// N1`) keeps its register-tiled micro-kernel: the schedule's tile loops run
// outside, and the kernel computes one tile per iteration (IREE's
// tile-then-ukernel). The tile loops are the scheduled nest's loops up to its
// last tile-number loop; the kernel does everything inside.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_PASSES_CONVERSION_TILEDKERNEL_H
#define CASCADE_PASSES_CONVERSION_TILEDKERNEL_H

#include "passes/Conversion/ContractionKernels.h"
#include "passes/Conversion/LoopNest.h"
#include <string>

namespace cascade {

/// The scheduled loops of a contraction, split into the tile loops around
/// its kernel and the tile inside.
struct KernelTiling {
  llvm::SmallVector<LoopLevel> tileLoops; // outermost first
  bool kernelParallel = false; // `parallel` names a loop inside the tile
};

/// The tiling of `op`'s scheduled loops `levels` (scheduledLevels), or why
/// they cannot run around a kernel: a split of a reduced rank (the kernel
/// blocks its reductions itself), a reduced loop or a tile's inner loop
/// placed outside a tile-number loop, or an `unroll` of a loop inside the
/// tile (a loop the kernel does not have).
llvm::FailureOr<KernelTiling> tileAroundKernel(EinsumOp op,
                                               llvm::ArrayRef<LoopLevel> levels,
                                               std::string &whyNot);

/// Why `sched` leaves no room for `op`'s kernel: it puts `op` in a `fuse`
/// group, or tileAroundKernel refuses its loops; empty when the kernel runs
/// inside the schedule's tile loops (where one matches the tile). The tuner's
/// cost model asks this too.
std::string whyScheduleExcludesKernel(EinsumOp op, const LoopSchedule &sched);

/// Computes one tile: `ranges` (one per index of the einsum) restricts the
/// output indices the tile loops run over; `parallel`: run the tile on the
/// thread pool. Fails, emitting nothing, where the kernel does not apply.
using TileKernelFn = llvm::function_ref<mlir::LogicalResult(
    mlir::OpBuilder &, llvm::ArrayRef<IndexRange> ranges, bool parallel)>;

/// Emits `tiling`'s loops and `kernel` inside them. Every kernel call gets
/// static extents: the full tiles run in a loop (an scf.parallel where the
/// schedule says so), and a remainder tile, where the split does not divide
/// the extent, is a separate call after it. When a call fails, everything
/// emitted is erased and the result is failure.
mlir::LogicalResult emitTiledKernel(mlir::OpBuilder &b, mlir::Location loc,
                                    EinsumOp op, const KernelTiling &tiling,
                                    TileKernelFn kernel);

} // namespace cascade

#endif
