//===- EinsumBuilder.h - Build cascade.einsum ops in code -------*- C++ -*-===//
//
// The cascade rewrites build new equations from pieces of old ones. This
// helper collects the operands as reads are added (each outer tensor becomes
// one body argument), clones body expressions of other einsums under an
// index substitution, and creates the op at the end.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_PASSES_UTILS_EINSUMBUILDER_H
#define CASCADE_PASSES_UTILS_EINSUMBUILDER_H

#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include <functional>

namespace cascade {

/// The schedule's `fuse` group of an equation (a discardable attribute).
inline constexpr llvm::StringLiteral kFuseGroupAttr = "cascade.fuse";

/// The rewrites build their equations right before the one they replace,
/// after `before` (null: from the start of the block). This passes the
/// replaced equation's marks on to them: its `fuse` group and the layer call
/// it came from.
void inheritMarks(mlir::Operation *replaced, mlir::Operation *before);

class EinsumBuilder {
public:
  /// An equation named `name` over `indices` with `extents`; the first
  /// `numOutputs` indices are the output's.
  EinsumBuilder(mlir::OpBuilder &outer, mlir::Location loc,
                llvm::StringRef name, llvm::ArrayRef<std::string> indices,
                llvm::ArrayRef<int64_t> extents, unsigned numOutputs);
  ~EinsumBuilder();

  unsigned numLoops() const { return indices.size(); }
  mlir::AffineExpr dim(unsigned d) const;
  mlir::AffineExpr cst(int64_t v) const;
  /// A single-result map from this equation's indices.
  mlir::AffineMap map(llvm::ArrayRef<mlir::AffineExpr> results) const;

  // Scalar body values.
  mlir::Value read(mlir::Value tensor, llvm::ArrayRef<mlir::AffineExpr> index);
  /// Reads the recurrence's own previous state (needs makeRecurrence).
  mlir::Value readSelf(llvm::ArrayRef<mlir::AffineExpr> index);
  mlir::Value constant(double v);
  mlir::Value unary(llvm::StringRef fn, mlir::Value x);
  mlir::Value binary(llvm::StringRef fn, mlir::Value a, mlir::Value b);
  /// where(lhs pred rhs, then(), otherwise()) with lazily built branches.
  mlir::Value where(llvm::StringRef pred, mlir::AffineExpr lhs,
                    mlir::AffineExpr rhs,
                    llvm::function_ref<mlir::Value()> then,
                    llvm::function_ref<mlir::Value()> otherwise);

  /// Clones the expression computing `value` in the body of `source` into
  /// this equation; index d of `source` becomes `dimMap[d]` (an affine
  /// expression of this equation's indices).
  /// `substitute`, when given, may return a replacement for a source value
  /// (already in this equation), which is used instead of cloning it.
  using Substitution = std::function<mlir::Value(mlir::Value)>;
  mlir::Value cloneExpr(EinsumOp source, mlir::Value value,
                        llvm::ArrayRef<mlir::AffineExpr> dimMap,
                        Substitution substitute = nullptr);

  /// Makes the equation a recurrence along output index `iterative`, whose
  /// position 0 is `init`. Call before readSelf.
  void makeRecurrence(unsigned iterative, mlir::Value init);

  /// Creates the op (at the outer builder's insertion point) yielding
  /// `result`, reducing with `reduction` over the non-output indices.
  EinsumOp finish(mlir::Value result, llvm::StringRef reduction = "add");

private:
  mlir::BlockArgument argFor(mlir::Value tensor);
  mlir::Value cloneValue(EinsumOp source, mlir::Value value,
                         llvm::ArrayRef<mlir::AffineExpr> dimMap,
                         const Substitution &substitute);

  mlir::OpBuilder &outer;
  mlir::OpBuilder body;
  mlir::Location loc;
  std::string name;
  std::vector<std::string> indices;
  std::vector<int64_t> extents;
  unsigned numOutputs;
  std::unique_ptr<mlir::Block> block;
  llvm::SmallVector<mlir::Value> operands;
  std::optional<unsigned> iterative;
  mlir::Value init;
  mlir::BlockArgument self;
};

/// The result type an einsum over `extents` with `numOutputs` output indices
/// (and an optional iterative one) has.
mlir::RankedTensorType einsumResultType(mlir::MLIRContext *ctx,
                                        llvm::ArrayRef<int64_t> extents,
                                        unsigned numOutputs,
                                        std::optional<unsigned> iterative);

/// A tensor or rank name not used yet in `func`, derived from `base`.
std::string freshTensorName(mlir::func::FuncOp func, llvm::StringRef base);
std::string freshRankName(mlir::func::FuncOp func, llvm::StringRef base);

} // namespace cascade

namespace cascade {
/// The indices of `op` that the expression computing `value` (in `op`'s
/// body) depends on, through its reads and where conditions.
llvm::SmallVector<bool> exprIndices(EinsumOp op, mlir::Value value);

/// `dims` (indices of some einsum) mapped through `dimMap` to the indices of
/// another einsum with `numDims` indices.
llvm::SmallVector<bool> mapIndices(llvm::ArrayRef<bool> dims,
                                   llvm::ArrayRef<mlir::AffineExpr> dimMap,
                                   unsigned numDims);

/// Splits a product tree `a * (b * c)` into its factors.
void collectFactors(mlir::Value value, llvm::SmallVectorImpl<mlir::Value> &out);
} // namespace cascade

namespace cascade {
/// True if the expression `va` of `a` with a's index d read as `mapA[d]`
/// computes the same as `vb` of `b` with `mapB`: same functions, constants,
/// conditions and reads of the same tensors at the same coordinates.
bool exprEqual(EinsumOp a, mlir::Value va,
               llvm::ArrayRef<mlir::AffineExpr> mapA, EinsumOp b,
               mlir::Value vb, llvm::ArrayRef<mlir::AffineExpr> mapB,
               unsigned numDims);
} // namespace cascade
#endif
