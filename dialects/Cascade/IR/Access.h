//===- Access.h - Affine index arithmetic for cascade bodies ----*- C++ -*-===//
//
// Cascade index expressions are linear: sums of indices times integer
// constants plus a constant. These helpers evaluate them, bound them over an
// iteration box and prove reads in range under the `where` guards that
// enclose them. The verifier, the reference interpreter and the lowering
// share them.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_DIALECT_CASCADE_IR_ACCESS_H
#define CASCADE_DIALECT_CASCADE_IR_ACCESS_H

#include "mlir/IR/AffineMap.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include <optional>
#include <string>

namespace cascade {
class ReadOp;

/// c[0]*d0 + c[1]*d1 + ... + constant.
struct LinearExpr {
  llvm::SmallVector<int64_t, 6> coeffs;
  int64_t constant = 0;

  int64_t eval(llvm::ArrayRef<int64_t> point) const {
    int64_t v = constant;
    for (size_t i = 0, e = coeffs.size(); i < e; ++i)
      v += coeffs[i] * point[i];
    return v;
  }
  bool dependsOn(unsigned d) const { return coeffs[d] != 0; }
};

/// The linear form of `e` over `numDims` dims, or nullopt when `e` is not
/// linear (mod, floordiv, symbols, products of dims).
std::optional<LinearExpr> toLinear(mlir::AffineExpr e, unsigned numDims);

/// Smallest and largest value of `e` over the box [0, extents).
std::pair<int64_t, int64_t> boundsOf(const LinearExpr &e,
                                     llvm::ArrayRef<int64_t> extents);

/// `lhs pred rhs` for pred in lt le gt ge eq ne.
bool evalPredicate(llvm::StringRef pred, int64_t lhs, int64_t rhs);

/// A `cascade.where` condition that must hold (`taken`) or fail for a
/// body op to be evaluated.
struct Guard {
  llvm::StringRef pred;
  LinearExpr lhs, rhs;
  bool taken;
  bool holds(llvm::ArrayRef<int64_t> point) const {
    return evalPredicate(pred, lhs.eval(point), rhs.eval(point)) == taken;
  }
};

/// The guards of all `cascade.where` ops enclosing `op` inside its einsum.
llvm::SmallVector<Guard> getEnclosingGuards(mlir::Operation *op,
                                            unsigned numDims);

/// Proves that `read` stays inside its tensor wherever it is evaluated.
/// On failure, `why` describes an offending point.
mlir::LogicalResult proveReadInBounds(ReadOp read,
                                      llvm::ArrayRef<int64_t> extents,
                                      llvm::ArrayRef<llvm::StringRef> names,
                                      std::string &why);

/// The equation index each coordinate of `read` is, if every coordinate is
/// one plain index (`X[p,k]`, not `X[p+1,k]`); with `distinct`, also no
/// index twice (not `X[p,p]`).
std::optional<llvm::SmallVector<unsigned>> plainIndices(ReadOp read,
                                                        bool distinct = true);

/// True if `read` is in range at every point of the box, guards ignored:
/// it may then be evaluated speculatively.
bool isReadAlwaysInBounds(ReadOp read, llvm::ArrayRef<int64_t> extents);

} // namespace cascade

#endif
