//===- MathApproximation.cpp - Vectorizable math functions ----------------===//
//
// Upstream MLIR's polynomial approximations, plus an `exp` that scales by
// 2^k with `llvm.ldexp`, which LLVM turns into one `vscalefps` on AVX-512.
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "passes/Passes.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADEMATHAPPROXIMATION
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;

namespace {

/// exp(x) = 2^k * p(r), k = round(x / ln 2), r = x - k ln 2 in
/// [-ln2/2, ln2/2], p Cephes' degree-7 polynomial (about 1 ulp). The scaling
/// is `llvm.ldexp`: AVX-512 does it in one `vscalefps`, which also rounds
/// overflow to inf and underflow to denormals or zero, so only k needs a
/// range (upstream's form clamps x and k and builds 2^k from its bits: six
/// more instructions in every softmax's inner loop). Scalars only: the
/// loop vectorizer widens them, and LLVM's ldexp takes a scalar exponent
/// type here.
///
/// Special values: x = NaN gives NaN (r is NaN; k is computed from a copy
/// of x that is never NaN, so the float-to-int conversion is defined),
/// +inf gives inf, -inf and every x whose result is below the smallest
/// normal float give 0 (upstream's flushes from -87.68 on).
/// 18 instructions per vector after vectorization (and one register
/// copy), upstream's 20.
struct ExpByScaling : public OpRewritePattern<math::ExpOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::ExpOp op,
                                PatternRewriter &rewriter) const final {
    if (!op.getType().isF32())
      return rewriter.notifyMatchFailure(op, "scalar f32 only");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    auto cst = [&](float v) -> Value {
      return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
    };
    auto fma = [&](Value x, Value y, Value z) -> Value {
      return math::FmaOp::create(b, x, y, z);
    };
    Value x = op.getOperand();
    // Results below the smallest normal float (x < ln 2^-126) are 0, chosen
    // at the end; x is replaced by 0 for the computation meanwhile. A
    // denormal or underflowing result would cost a microcode assist (100+
    // cycles on x86) in vscalefps and in every later operation that reads
    // it, and a softmax over large scores produces thousands. NaN stays
    // (the compare is false).
    Value isLow = arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, x,
                                        cst(-87.3365447f));
    Value zero = cst(0.0f);
    x = arith::SelectOp::create(b, isLow, zero, x);
    // k from a copy bounded above and never NaN (minnumf(NaN, c) = c): from
    // x = 89 on, 2^128 * p(r) with p(r) > 1 overflows to inf as it should.
    Value bounded = arith::MinNumFOp::create(b, x, cst(89.0f));
    Value k = math::RoundEvenOp::create(
        b, arith::MulFOp::create(b, bounded, cst(1.44269504088896341f)));
    // r = x - k ln2 in two steps (Cody-Waite); the first is exact.
    Value r = fma(k, cst(-0.693359375f), x);
    r = fma(k, cst(2.12194440e-4f), r);
    Value p = cst(1.9875691500e-4f);
    for (float c : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
                    1.6666665459e-1f, 5.0000001201e-1f, 1.0f, 1.0f})
      p = fma(p, r, cst(c));
    Value n = arith::FPToSIOp::create(b, b.getI32Type(), k);
    Value y = LLVM::LoadExpOp::create(b, b.getF32Type(), p, n);
    rewriter.replaceOp(op, arith::SelectOp::create(b, isLow, zero, y));
    return success();
  }
};

struct MathApproximation
    : public cascade::impl::CascadeMathApproximationBase<MathApproximation> {
  using CascadeMathApproximationBase::CascadeMathApproximationBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (scaleExp)
      patterns.add<ExpByScaling>(&getContext(), /*benefit=*/2);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
