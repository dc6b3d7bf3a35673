//===- MathApproximation.cpp - Vectorizable math functions ----------------===//
//
// Upstream MLIR's polynomial approximations, plus a rational `erf` without
// per-lane polynomial selection, and an `exp` that scales by 2^k with
// `llvm.ldexp`, which LLVM turns into one `vscalefps` on AVX-512.
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
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

/// An f32 constant of `type` (f32, or a vector of f32: a splat).
Value f32Constant(ImplicitLocOpBuilder &b, Type type, float v) {
  return createScalarOrSplatConstant(b, b.getLoc(), type, APFloat(v));
}

/// The polynomial with `coeffs` (highest degree first) at `x`, in Horner
/// form: one FMA per coefficient after the first.
Value horner(ImplicitLocOpBuilder &b, Value x, ArrayRef<float> coeffs) {
  Value p = f32Constant(b, x.getType(), coeffs.front());
  for (float c : coeffs.drop_front())
    p = math::FmaOp::create(b, p, x, f32Constant(b, x.getType(), c));
  return p;
}

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
    auto cst = [&](float v) { return f32Constant(b, b.getF32Type(), v); };
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
    Value p = horner(b, r,
                     {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                      4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f,
                      1.0f, 1.0f});
    Value n = arith::FPToSIOp::create(b, b.getI32Type(), k);
    Value y = LLVM::LoadExpOp::create(b, b.getF32Type(), p, n);
    rewriter.replaceOp(op, arith::SelectOp::create(b, isLow, zero, y));
    return success();
  }
};

/// erf(x) = x P(x^2) / Q(x^2) on x clamped to [-4, 4] (beyond it erf is
/// +-1 in f32), P of degree 6 and Q of degree 4: the rational form of
/// Eigen's and XLA's f32 erf. At most 3.8e-7 from erf (upstream's three
/// polynomials: 2.6e-7). Upstream's picks one of three polynomials per
/// lane with 18 blends and loads their coefficients from memory where the
/// registers run out (a GELU in a GEMM's tile epilogue took 70
/// instructions per vector); this is 14 instructions and a division, for
/// scalars and vectors alike. NaN gives NaN, +-inf gives +-1.
struct ErfRational : public OpRewritePattern<math::ErfOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::ErfOp op,
                                PatternRewriter &rewriter) const final {
    if (!getElementTypeOrSelf(op.getType()).isF32())
      return rewriter.notifyMatchFailure(op, "f32 only");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    auto cst = [&](float v) { return f32Constant(b, op.getType(), v); };
    // minimumf and maximumf keep NaN (minnumf would return the bound).
    Value x = arith::MaximumFOp::create(
        b, arith::MinimumFOp::create(b, op.getOperand(), cst(4.0f)),
        cst(-4.0f));
    Value x2 = arith::MulFOp::create(b, x, x);
    Value p = horner(b, x2,
                     {-2.72614225801306e-10f, 2.77068142495902e-08f,
                      -2.10102402082508e-06f, -5.69250639462346e-05f,
                      -7.34990630326855e-04f, -2.95459980854025e-03f,
                      -1.60960333262415e-02f});
    Value q = horner(b, x2,
                     {-1.45660718464996e-05f, -2.13374055278905e-04f,
                      -1.68282697438203e-03f, -7.37332916720468e-03f,
                      -1.42647390514189e-02f});
    rewriter.replaceOp(
        op, arith::DivFOp::create(b, arith::MulFOp::create(b, x, p), q));
    return success();
  }
};

/// C's pow(x, y) for a run-time y on targets without libm (GPUs):
/// exp(y * log|x|), negated for a negative base with an odd integral y,
/// NaN for a negative base with a fractional y, 1 for y == 0 or x == 1.
/// The polynomial exp and log then approximate it (a relative error of
/// about |y log x| ulp).
struct PowFByExpLog : public OpRewritePattern<math::PowFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::PowFOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value x = op.getLhs(), y = op.getRhs();
    Type t = x.getType();
    auto c = [&](float v) { return f32Constant(b, t, v); };
    auto cmp = [&](arith::CmpFPredicate p, Value l, Value r) {
      return arith::CmpFOp::create(b, p, l, r);
    };
    Value r = math::ExpOp::create(
        b, arith::MulFOp::create(b, y, math::LogOp::create(
                                           b, math::AbsFOp::create(b, x))));
    Value isInt = cmp(arith::CmpFPredicate::OEQ, y, math::TruncOp::create(b, y));
    Value half = arith::MulFOp::create(b, y, c(0.5f));
    Value isOdd = arith::AndIOp::create(
        b, isInt,
        cmp(arith::CmpFPredicate::ONE, half, math::TruncOp::create(b, half)));
    Value negative = cmp(arith::CmpFPredicate::OLT, x, c(0.0f));
    r = arith::SelectOp::create(b, arith::AndIOp::create(b, negative, isOdd),
                                arith::NegFOp::create(b, r), r);
    Value notInt = arith::XOrIOp::create(
        b, isInt, createScalarOrSplatConstant(b, b.getLoc(), isInt.getType(),
                                              APInt(1, 1)));
    r = arith::SelectOp::create(b, arith::AndIOp::create(b, negative, notInt),
                                c(NAN), r);
    Value one = arith::OrIOp::create(b, cmp(arith::CmpFPredicate::OEQ, y, c(0)),
                                     cmp(arith::CmpFPredicate::OEQ, x, c(1)));
    rewriter.replaceOp(op, arith::SelectOp::create(b, one, c(1.0f), r));
    return success();
  }
};

struct MathApproximation
    : public cascade::impl::CascadeMathApproximationBase<MathApproximation> {
  using CascadeMathApproximationBase::CascadeMathApproximationBase;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    patterns.add<ErfRational>(&getContext(), /*benefit=*/2);
    if (scaleExp)
      patterns.add<ExpByScaling>(&getContext(), /*benefit=*/2);
    if (expandPow)
      patterns.add<PowFByExpLog>(&getContext(), /*benefit=*/2);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
