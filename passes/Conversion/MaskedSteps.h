//===- MaskedSteps.h - Skipping fully masked 1-pass steps ------*- C++ -*-===//
//
// In the one-pass cascade a step whose scores are all -inf (every key of the
// step masked for every query of the tile: the blocks above the diagonal of
// causal attention) changes none of the group's recurrences. The lowering
// runs such a step only when some score of it is visible.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_PASSES_CONVERSION_MASKEDSTEPS_H
#define CASCADE_PASSES_CONVERSION_MASKEDSTEPS_H

#include "dialects/Cascade/IR/CascadeOps.h"
#include "passes/Conversion/LoopNest.h"

namespace cascade {

/// The member of a fused recurrence group `members` whose steps may be
/// skipped: the scores (`where(pred, ..., -inf)` on affine indices, `pred`
/// one of lt le gt ge) of a local maximum cascade-one-pass marked with
/// kMaskedStepIdentityAttr; null when the group has none.
EinsumOp maskedScores(llvm::ArrayRef<EinsumOp> members);

/// Whether the strategy set `skip_masked` on `m` (the scores of a group
/// whose fully masked steps are skipped).
bool skipsMaskedSteps(EinsumOp m);

/// Whether some element of `scores` in the step that `bounds` selects (its
/// first index fixed to the step, the others within their tiles or whole)
/// takes the where's selected branch: the where's predicate at the corner
/// of that box where it is most likely to hold.
mlir::Value stepHasVisibleScore(mlir::OpBuilder &b, mlir::Location loc,
                                EinsumOp scores, const RankBounds &bounds);

} // namespace cascade

#endif
