//===- LoopOrder.h - The default loop order of an equation ------*- C++ -*-===//
//
// The default heuristic's choices for an equation that no kernel and no
// schedule shapes: the order of its loops and whether its outer loop is
// worth the thread pool.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_PASSES_CONVERSION_LOOPORDER_H
#define CASCADE_PASSES_CONVERSION_LOOPORDER_H

#include "dialects/Cascade/IR/CascadeOps.h"
#include "llvm/ADT/SmallVector.h"

namespace cascade {

/// The loop order (dimensions, outermost first): a recurrence's iterative
/// index first, then the output indices, then the reduced ones, with the
/// innermost loop the index along which the most accesses (and, for an
/// output index, the output) are contiguous.
llvm::SmallVector<unsigned> chooseLoopOrder(EinsumOp op);

/// Whether a nest in `order` is worth running on several threads: its
/// outermost loop runs over an output index (not a recurrence's) with at
/// least two iterations, and the nest is large enough to pay for waking the
/// pool.
bool worthParallel(EinsumOp op, llvm::ArrayRef<unsigned> order);

} // namespace cascade

#endif
