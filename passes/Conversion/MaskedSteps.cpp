//===- MaskedSteps.cpp - Skipping fully masked steps of the 1-pass loop ---===//
//
// Why a masked step is an identity: with every score X of step m1 equal to
// -inf, LM = -inf, so RM[m1+1] = max(RM[m1], -inf) = RM[m1]; SLN = exp(-inf
// - RM[m1+1]) = 0 (exp(-inf) also when RM is -inf: LANGUAGE.md makes
// -inf - -inf = -inf), so SLD = 0 and SLNV = 0; PRM = exp(RM[m1] -
// RM[m1+1]) is 1 when RM is finite, and when it is -inf no key was visible
// yet and RD = RNV = 0 still. Either way RD and RNV keep their values. The
// one difference: an unskipped step multiplies V's masked rows by 0, so an
// inf or NaN there would make the row NaN; skipped, masked keys never
// reach the result (as in FlashAttention's causal kernels).
//
//===----------------------------------------------------------------------===//
#include "passes/Conversion/MaskedSteps.h"
#include "dialects/Cascade/IR/Access.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "passes/Strategy/LoweringStrategy.h"
#include <cmath>

using namespace mlir;

namespace cascade {

namespace {

bool isMinusInf(Value v) {
  auto c = v.getDefiningOp<ConstOp>();
  return c && std::isinf(c.getValue().convertToDouble()) &&
         c.getValue().convertToDouble() < 0;
}

Value yielded(Region &r) {
  return cast<YieldOp>(r.front().getTerminator())->getOperand(0);
}

/// A where's condition as expressions over some op's loop dims.
struct Condition {
  StringRef pred;
  AffineExpr lhs, rhs;
  bool operator==(const Condition &o) const {
    return pred == o.pred && lhs == o.lhs && rhs == o.rhs;
  }
};

Condition conditionOf(WhereOp w, AffineMap through = {}) {
  AffineMap l = w.getLhs(), r = w.getRhs();
  if (through) {
    l = l.compose(through);
    r = r.compose(through);
  }
  return {w.getPred(), simplifyAffineExpr(l.getResult(0), l.getNumDims(), 0),
          simplifyAffineExpr(r.getResult(0), r.getNumDims(), 0)};
}

/// The where of `scores`' body whose false branch is -inf and whose
/// predicate (lt le gt ge) decides it: the first such where on the chain of
/// wheres the body yields (through their true branches). `outer` gets the
/// wheres passed on the way, whose false branch is something else (the
/// one-pass rewrite's guard of a last, partial step).
WhereOp maskingWhere(EinsumOp scores,
                     SmallVectorImpl<WhereOp> *outer = nullptr) {
  Value v = yielded(scores.getBody());
  while (auto where = v.getDefiningOp<WhereOp>()) {
    StringRef pred = where.getPred();
    if (isMinusInf(yielded(where.getElseRegion())) &&
        (pred == "lt" || pred == "le" || pred == "gt" || pred == "ge"))
      return where;
    if (outer)
      outer->push_back(where);
    v = yielded(where.getThenRegion());
  }
  return {};
}

/// Whether every element `lm` reduces is -inf where the masking where of
/// `scores` fails: `lm` reads `scores` (plainly) under wheres with -inf
/// false branches that include each outer where of `scores` (composed
/// through the read), so a position where an outer where fails, and
/// `scores` holds something else, is -inf in `lm` too.
bool reducesMaskedScores(EinsumOp lm, EinsumOp scores) {
  SmallVector<WhereOp> outer;
  if (!maskingWhere(scores, &outer))
    return false;
  SmallVector<Condition> lmGuards;
  Value v = yielded(lm.getBody());
  while (auto where = v.getDefiningOp<WhereOp>()) {
    if (!isMinusInf(yielded(where.getElseRegion())))
      return false;
    lmGuards.push_back(conditionOf(where));
    v = yielded(where.getThenRegion());
  }
  auto read = v.getDefiningOp<ReadOp>();
  if (!read)
    return false;
  for (WhereOp w : outer)
    if (!llvm::is_contained(lmGuards, conditionOf(w, read.getMap())))
      return false;
  return true;
}

} // namespace

EinsumOp maskedScores(ArrayRef<EinsumOp> members) {
  for (EinsumOp lm : members) {
    if (!lm->hasAttr(kMaskedStepIdentityAttr) || lm.getInputs().size() != 1)
      continue;
    auto scores = lm.getInputs()[0].getDefiningOp<EinsumOp>();
    if (scores && llvm::is_contained(members, scores) &&
        !scores.isRecurrence() && reducesMaskedScores(lm, scores))
      return scores;
  }
  return {};
}

bool skipsMaskedSteps(EinsumOp m) {
  LoweringConfigAttr c = loweringConfig(m);
  return c && c.getSkipMasked();
}

Value stepHasVisibleScore(OpBuilder &b, Location loc, EinsumOp scores,
                          const RankBounds &bounds) {
  WhereOp where = maskingWhere(scores);
  unsigned n = scores.getNumLoops();
  auto lhs = toLinear(where.getLhs().getResult(0), n);
  auto rhs = toLinear(where.getRhs().getResult(0), n);
  if (!lhs || !rhs)
    return {};
  // d = lhs - rhs; `pred` compares d with 0. For lt/le some point holds
  // when the smallest d does, for gt/ge when the largest does.
  StringRef pred = where.getPred();
  bool smallest = pred == "lt" || pred == "le";
  auto cst = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  Value d = cst(lhs->constant - rhs->constant);
  for (unsigned i = 0; i < n; ++i) {
    int64_t c = lhs->coeffs[i] - rhs->coeffs[i];
    if (!c)
      continue;
    // The range of index i in this step: the step itself, a tile of
    // shared loops, or the whole extent.
    Value lo, hi;
    auto it = bounds.find(LoopSchedule::rankOf(scores, i));
    if (it != bounds.end() && it->second.fixed) {
      lo = hi = it->second.fixed;
    } else if (it != bounds.end() && it->second.lb) {
      lo = it->second.lb;
      hi = arith::SubIOp::create(b, loc, it->second.ub, cst(1));
    } else {
      lo = cst(0);
      hi = cst(scores.getExtents()[i] - 1);
    }
    // The end of the range that makes d smallest (or largest).
    Value at = (c > 0) == smallest ? lo : hi;
    d = arith::AddIOp::create(b, loc, d,
                              arith::MulIOp::create(b, loc, at, cst(c)));
  }
  arith::CmpIPredicate p = pred == "lt"   ? arith::CmpIPredicate::slt
                           : pred == "le" ? arith::CmpIPredicate::sle
                           : pred == "gt" ? arith::CmpIPredicate::sgt
                                          : arith::CmpIPredicate::sge;
  return arith::CmpIOp::create(b, loc, p, d, cst(0));
}

} // namespace cascade
