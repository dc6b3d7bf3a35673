//===- DeferDivision.cpp - Divide after the contraction --------------------===//
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
  BinaryOp division;                // the quotient's body: num / den
  SmallVector<AffineExpr> dimMap;   // quotient index -> consumer expression
};

std::optional<Match> matchAt(EinsumOp consumer) {
  if (!consumer.hasReduction() || consumer.getReduction() != "add" ||
      consumer.isRecurrence())
    return std::nullopt;
  SmallVector<Value> factors;
  collectFactors(cast<YieldOp>(consumer.getBody().front().getTerminator())
                     .getValue(),
                 factors);
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
    SmallVector<bool> den = mapIndices(
        exprIndices(quotient, division.getRhs()), m.dimMap,
        consumer.getNumLoops());
    bool dependsOnReduced = false;
    for (unsigned d = consumer.getNumOutputDims(); d < consumer.getNumLoops();
         ++d)
      dependsOnReduced |= den[d];
    if (!dependsOnReduced)
      return m;
  }
  return std::nullopt;
}

void rewrite(Match m, func::FuncOp func) {
  EinsumOp c = m.consumer;
  OpBuilder b(c);
  std::vector<std::string> indices;
  for (unsigned d = 0; d < c.getNumLoops(); ++d)
    indices.push_back(c.getIndexName(d).str());
  unsigned numOut = c.getNumOutputDims();
  SmallVector<AffineExpr> identity;
  for (unsigned d = 0; d < c.getNumLoops(); ++d)
    identity.push_back(b.getAffineDimExpr(d));

  // AV_N = (the consumer's body with the quotient replaced by its numerator)
  EinsumBuilder num(b, c.getLoc(), freshTensorName(func, c.getName().str() + "_N"),
                    indices, c.getExtents(), numOut);
  Value numerator = m.division.getLhs();
  Value body = num.cloneExpr(
      c, cast<YieldOp>(c.getBody().front().getTerminator()).getValue(),
      identity, [&](Value v) -> Value {
        if (v == m.factor.getResult())
          return num.cloneExpr(m.quotient, numerator, m.dimMap);
        return {};
      });
  EinsumOp sum = num.finish(body, "add");

  // AV = AV_N / den, over the output indices only.
  std::vector<std::string> outIndices(indices.begin(),
                                      indices.begin() + numOut);
  EinsumBuilder div(b, c.getLoc(), c.getName(), outIndices,
                    c.getExtents().take_front(numOut), numOut);
  SmallVector<AffineExpr> outIdentity(identity.begin(),
                                      identity.begin() + numOut);
  Value q = div.binary("div", div.read(sum.getResult(), outIdentity),
                       div.cloneExpr(m.quotient, m.division.getRhs(),
                                     m.dimMap));
  EinsumOp result = div.finish(q);
  c.getResult().replaceAllUsesWith(result.getResult());
  c.erase();
  if (m.quotient.getResult().use_empty())
    m.quotient.erase();
}

struct DeferDivision
    : public cascade::impl::CascadeDeferDivisionBase<DeferDivision> {
  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp func) {
      for (bool changed = true; changed;) {
        changed = false;
        for (EinsumOp op : llvm::to_vector(func.getOps<EinsumOp>()))
          if (auto m = matchAt(op)) {
            rewrite(*m, func);
            changed = true;
            break;
          }
      }
    });
  }
};

} // namespace
