//===- MathApproximation.cpp - Vectorizable math functions
//-----------------===//
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "passes/Passes.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADEMATHAPPROXIMATION
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;

namespace {
struct MathApproximation
    : public cascade::impl::CascadeMathApproximationBase<MathApproximation> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
