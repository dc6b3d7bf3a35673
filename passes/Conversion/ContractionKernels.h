//===- ContractionKernels.h - Register-tiled contractions -------*- C++ -*-===//
#ifndef CASCADE_PASSES_CONVERSION_CONTRACTIONKERNELS_H
#define CASCADE_PASSES_CONVERSION_CONTRACTIONKERNELS_H

#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/IR/Builders.h"

namespace cascade {

/// Lowers a contraction `C[..., m, n] = A[..k..] * B[..k..] (:: + over k)`
/// (optionally scaled by a constant) to a register-tiled micro-kernel on
/// vector<8xf32>: an MR x NR tile of accumulators stays in registers while
/// the k loop streams A and B. Two shapes are handled: B contiguous along
/// the output's last index n (broadcast A, FMA whole rows: the BLAS kernel),
/// and A and B both contiguous along k (vector dot products, reduced at the
/// end). The kernel writes every element of `out`; on a contraction it does
/// not handle (other bodies, extents the tiles do not divide) it returns
/// failure and emits nothing.
mlir::LogicalResult lowerContractionKernel(mlir::OpBuilder &b, EinsumOp op,
                                           mlir::Value out,
                                           llvm::ArrayRef<mlir::Value> inputs,
                                           bool parallel);

} // namespace cascade

#endif
