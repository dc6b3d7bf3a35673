//===- DeferDivision.cpp - Divide after the contraction
//--------------------===//
#include "passes/Passes.h"
#include "passes/Utils/EinsumBuilder.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADEDEFERDIVISION
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;
using namespace cascade;

namespace {

/// One place the rewrite applies: `consumer` reduces with `+` over a product
/// one of whose factors, `factor`, reads the quotient computed by
/// `quotient`.
struct Match {
  EinsumOp consumer, quotient;
  ReadOp factor;
  BinaryOp division;              // the quotient's body: num / den
  SmallVector<AffineExpr> dimMap; // quotient index -> consumer expression
};

/// True if the expression `value` reads a tensor (is not a constant).
bool readsTensors(Value value) {
  Operation *def = value.getDefiningOp();
  if (isa<ReadOp>(def))
    return true;
  bool reads = false;
  def->walk([&](ReadOp) { reads = true; });
  for (Value operand : def->getOperands())
    reads |= readsTensors(operand);
  return reads;
}

/// True if `value` of `op` does not depend on any reduced index of `op`.
bool invariantInReduction(EinsumOp op, EinsumOp source, Value value,
                          ArrayRef<AffineExpr> dimMap) {
  SmallVector<bool> used =
      mapIndices(exprIndices(source, value), dimMap, op.getNumLoops());
  for (unsigned d = op.getNumOutputDims(); d < op.getNumLoops(); ++d)
    if (used[d])
      return false;
  return true;
}

std::optional<Match> matchAt(EinsumOp consumer) {
  if (!consumer.hasReduction() || consumer.getReduction() != "add" ||
      consumer.isRecurrence())
    return std::nullopt;
  SmallVector<AffineExpr> identity;
  for (unsigned d = 0; d < consumer.getNumLoops(); ++d)
    identity.push_back(getAffineDimExpr(d, consumer.getContext()));
  // `sum_m X / D` with D constant in m: the division is written inside the
  // reduction (the one-equation form of a deferred division).
  // (A constant divisor stays: it is a scale the contraction kernels apply
  // once anyway.)
  if (auto div = dyn_cast_or_null<BinaryOp>(consumer.getYieldedOp()))
    if (div.getFn() == "div" && readsTensors(div.getRhs()) &&
        invariantInReduction(consumer, consumer, div.getRhs(), identity))
      return Match{consumer, EinsumOp(), ReadOp(), div, identity};
  SmallVector<Value> factors;
  collectFactors(consumer.getYieldedValue(), factors);
  for (Value f : factors) {
    auto read = f.getDefiningOp<ReadOp>();
    if (!read)
      continue;
    Value outer =
        consumer.getOperandForArg(cast<BlockArgument>(read.getTensor()));
    auto quotient = outer ? outer.getDefiningOp<EinsumOp>() : EinsumOp();
    if (!quotient || quotient.hasReduction() || quotient.isRecurrence())
      continue;
    auto division = quotient.getYieldedOp()
                        ? dyn_cast<BinaryOp>(quotient.getYieldedOp())
                        : BinaryOp();
    if (!division || division.getFn() != "div")
      continue;
    Match m{consumer, quotient, read, division, {}};
    m.dimMap.assign(read.getMap().getResults().begin(),
                    read.getMap().getResults().end());
    // The denominator must be constant along the reduced indices.
    if (invariantInReduction(consumer, quotient, division.getRhs(), m.dimMap))
      return m;
  }
  return std::nullopt;
}

/// The identity on the first `numOut` indices, reduced indices sent to 0
/// (for expressions known not to read them).
SmallVector<AffineExpr> reducedToZero(ArrayRef<AffineExpr> identity,
                                      unsigned numOut) {
  SmallVector<AffineExpr> out(identity);
  for (unsigned d = numOut; d < out.size(); ++d)
    out[d] = getAffineConstantExpr(0, identity[0].getContext());
  return out;
}

void rewrite(Match m, func::FuncOp func) {
  EinsumOp c = m.consumer;
  OpBuilder b(c);
  Operation *before = c->getPrevNode();
  std::vector<std::string> indices;
  for (unsigned d = 0; d < c.getNumLoops(); ++d)
    indices.push_back(c.getIndexName(d).str());
  unsigned numOut = c.getNumOutputDims();
  SmallVector<AffineExpr> identity;
  for (unsigned d = 0; d < c.getNumLoops(); ++d)
    identity.push_back(b.getAffineDimExpr(d));

  // AV_N = (the consumer's body with the quotient replaced by its numerator)
  EinsumBuilder num(b, c.getLoc(),
                    freshTensorName(func, c.getName().str() + "_N"), indices,
                    c.getExtents(), numOut);
  Value numerator = m.division.getLhs();
  Value body =
      m.quotient ? num.cloneExpr(c, c.getYieldedValue(), identity,
                                 [&](Value v) -> Value {
                                   if (v == m.factor.getResult())
                                     return num.cloneExpr(m.quotient, numerator,
                                                          m.dimMap);
                                   return {};
                                 })
                 : num.cloneExpr(c, numerator, identity);
  EinsumOp sum = num.finish(body, "add");

  // AV = AV_N / den, over the output indices only.
  std::vector<std::string> outIndices(indices.begin(),
                                      indices.begin() + numOut);
  EinsumBuilder div(b, c.getLoc(), c.getName(), outIndices,
                    c.getExtents().take_front(numOut), numOut);
  SmallVector<AffineExpr> outIdentity(identity.begin(),
                                      identity.begin() + numOut);
  // The denominator in the output indices (it reads no reduced one).
  EinsumOp denSource = m.quotient ? m.quotient : c;
  SmallVector<AffineExpr> denMap(m.dimMap);
  SmallVector<AffineExpr> toOutput = reducedToZero(identity, numOut);
  for (AffineExpr &e : denMap)
    e = e.replaceDims(toOutput);
  Value q = div.binary("div", div.read(sum.getResult(), outIdentity),
                       div.cloneExpr(denSource, m.division.getRhs(), denMap));
  EinsumOp result = div.finish(q);
  inheritMarks(c, before);
  c.getResult().replaceAllUsesWith(result.getResult());
  c.erase();
  if (m.quotient && m.quotient.getResult().use_empty())
    m.quotient.erase();
}

struct DeferDivision
    : public cascade::impl::CascadeDeferDivisionBase<DeferDivision> {
  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp func) { deferDivisions(func); });
  }
};

} // namespace

unsigned cascade::deferDivisions(func::FuncOp func) {
  unsigned count = 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (EinsumOp op : llvm::to_vector(func.getOps<EinsumOp>()))
      if (auto m = matchAt(op)) {
        rewrite(*m, func);
        ++count;
        changed = true;
        break;
      }
  }
  return count;
}
