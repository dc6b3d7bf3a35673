//===- LoopOrder.cpp - The default loop order of an equation --------------===//
#include "passes/Conversion/LoopOrder.h"
#include "dialects/Cascade/IR/Access.h"

using namespace mlir;

namespace cascade {

/// The loop order: see LoopOrder.h. A recurrence's iterative index first, then
/// output indices, then the reduced ones, with the innermost loop the index
/// along which the most accesses (and, for an output index, the output) are
/// contiguous.
SmallVector<unsigned> chooseLoopOrder(EinsumOp op) {
  unsigned numOut = op.getNumOutputDims(), numLoops = op.getNumLoops();
  std::optional<int64_t> iter = op.getIterative();
  SmallVector<int> score(numLoops, 0);
  op.getBody().walk([&](ReadOp read) {
    AffineMap map = read.getMap();
    if (map.getNumResults() == 0)
      return;
    for (unsigned d = 0; d < numLoops; ++d) {
      auto last = toLinear(map.getResult(map.getNumResults() - 1), numLoops);
      if (!last || last->coeffs[d] != 1)
        continue;
      bool onlyLast = true;
      for (unsigned r = 0; r + 1 < map.getNumResults(); ++r) {
        auto e = toLinear(map.getResult(r), numLoops);
        onlyLast &= e && e->coeffs[d] == 0;
      }
      if (onlyLast)
        ++score[d];
    }
  });
  std::optional<unsigned> inner;
  if (numOut > 0) {
    score[numOut - 1] += 1; // the output's own contiguous dimension
    for (unsigned d = 0; d < numOut; ++d) {
      if (iter && (int64_t)d == *iter)
        continue;
      if (!inner || score[d] >= score[*inner])
        inner = d;
    }
  }
  // A reduced index along which as many accesses are contiguous (a dot
  // product such as X[p,d] * W[e,d] over d, or a row sum R[p,d] over d) is
  // better innermost: the reduction then accumulates in a register, which
  // LLVM vectorizes, and the inner loop no longer touches the output (whose
  // contiguity the output index's score counts). Among reduced indices, the
  // first with the highest score.
  std::optional<unsigned> reduced;
  for (unsigned d = numOut; d < numLoops; ++d)
    if (!reduced || score[d] > score[*reduced])
      reduced = d;
  if (reduced &&
      (!inner || (score[*reduced] > 0 && score[*reduced] >= score[*inner])))
    inner = reduced;
  SmallVector<unsigned> order;
  if (iter)
    order.push_back(*iter);
  for (unsigned d = 0; d < numLoops; ++d)
    if ((!iter || (int64_t)d != *iter) && d != inner)
      order.push_back(d);
  if (inner)
    order.push_back(*inner);
  return order;
}

/// Loops worth running on several threads: the outermost loop runs over an
/// output index (not a recurrence's) with at least two iterations, and the
/// nest is large enough to pay for waking the pool.
bool worthParallel(EinsumOp op, ArrayRef<unsigned> order) {
  constexpr int64_t kMinPoints = int64_t(1) << 15;
  if (order.empty())
    return false;
  unsigned d = order[0];
  if (op.isReducedDim(d) || op.getIterative() == (int64_t)d ||
      op.getExtents()[d] < 2)
    return false;
  int64_t points = 1;
  for (int64_t e : op.getExtents())
    points *= e;
  return points >= kMinPoints;
}

} // namespace cascade
