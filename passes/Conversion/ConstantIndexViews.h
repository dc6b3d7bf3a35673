//===- ConstantIndexViews.h - Constant coordinates as views -----*- C++ -*-===//
#ifndef CASCADE_PASSES_CONVERSION_CONSTANTINDEXVIEWS_H
#define CASCADE_PASSES_CONVERSION_CONSTANTINDEXVIEWS_H

#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/IR/Builders.h"

namespace cascade {

/// A contraction that reads an operand at constant coordinates (GPT-2's
/// fused `c_attn` weight read as `W[d, 1, n]`) reads a view of it: the
/// operand's buffer becomes a rank-reducing `memref.subview` at those
/// coordinates and its reads drop them, so the register-tiled kernels,
/// which take operands whose every coordinate is an index, apply (no copy).
/// Built only when each viewed operand is read at the same constants
/// everywhere, keeps its last dimension (unit stride for vector loads) and
/// has an identity-layout buffer. `einsum()` is then a detached copy of the
/// op for the kernel to read, `buffers()` the buffers with the views; both
/// are the originals otherwise. The copy, and views left unused when the
/// kernel declines, are erased with this object.
class ConstantIndexViews {
public:
  ConstantIndexViews(mlir::OpBuilder &b, EinsumOp op,
                     llvm::ArrayRef<mlir::Value> buffers,
                     llvm::function_ref<bool(mlir::Value)> viewable);
  ~ConstantIndexViews();
  ConstantIndexViews(const ConstantIndexViews &) = delete;
  ConstantIndexViews &operator=(const ConstantIndexViews &) = delete;

  EinsumOp einsum() const { return view ? view : original; }
  llvm::ArrayRef<mlir::Value> buffers() const { return viewBuffers; }

private:
  EinsumOp original, view;
  llvm::SmallVector<mlir::Value> viewBuffers;
  llvm::SmallVector<mlir::Operation *> subviews;
};

/// The same view for the strategy, before there are buffers: a detached
/// copy of `op` that reads each operand that qualifies (by its tensor type)
/// without its constant coordinates; null when none does. The caller
/// erases it.
EinsumOp detachedConstantIndexView(EinsumOp op);

} // namespace cascade

#endif
