//===- CascadeAnalysis.h - Pass counts, FLOPs and bytes ---------*- C++ -*-===//
//
// FuseMax's pass count: for each rank R, the number of times the cascade's
// dependences force a traversal of an R fiber to be complete before another
// traversal of R starts. An equation traverses R when one of its indices has
// rank R. Its result is "fiber-complete" in R when it reduces over R, when it
// is read at the final position of a recurrence over R, or when it does not
// traverse R but uses a fiber-complete value. An equation that traverses R
// and uses a fiber-complete value starts a new pass:
//
//   pass(e) = max(1, max over inputs p of pass(p) + [p complete in R])
//
// and the count of R is the largest pass of an equation traversing R. A rank
// that the cascade splits (read as m1 * M0 + m0 along a dimension of rank M)
// reports the count of its outer part.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_PASSES_ANALYSIS_CASCADEANALYSIS_H
#define CASCADE_PASSES_ANALYSIS_CASCADEANALYSIS_H

#include "dialects/Cascade/IR/CascadeOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include <string>
#include <vector>

namespace cascade {

struct EquationCost {
  std::string name;
  int64_t points = 0; // size of the iteration space
  int64_t flops = 0;  // arithmetic ops of the body + the reduction's combine
  int64_t bytes = 0;  // f32 tensors read once and written once
};

struct CascadeAnalysis {
  /// Passes per rank, in order of first appearance.
  llvm::MapVector<std::string, int64_t, llvm::StringMap<unsigned>> passes;
  std::vector<EquationCost> equations;
};

/// The size, FLOPs and bytes of one equation (at the cascade level).
EquationCost equationCost(EinsumOp op);

/// Analyzes a model function at the cascade level.
CascadeAnalysis analyzeCascade(mlir::func::FuncOp func);

} // namespace cascade

#endif
