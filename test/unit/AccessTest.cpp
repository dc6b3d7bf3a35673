//===- AccessTest.cpp - Affine index helpers
//-------------------------------===//
#include "dialects/Cascade/IR/Access.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/MLIRContext.h"
#include <gtest/gtest.h>

using namespace cascade;

namespace {

TEST(Access, LinearFormAndBounds) {
  mlir::MLIRContext ctx;
  auto d0 = mlir::getAffineDimExpr(0, &ctx),
       d1 = mlir::getAffineDimExpr(1, &ctx);
  auto e = toLinear(d0 * 32 + d1 - 3, 2);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->coeffs[0], 32);
  EXPECT_EQ(e->coeffs[1], 1);
  EXPECT_EQ(e->constant, -3);
  int64_t point[] = {2, 5};
  EXPECT_EQ(e->eval(point), 66);
  auto [lo, hi] = boundsOf(*e, {3, 32});
  EXPECT_EQ(lo, -3);
  EXPECT_EQ(hi, 2 * 32 + 31 - 3);
  auto neg = toLinear(-d0 + 4, 2);
  auto [nlo, nhi] = boundsOf(*neg, {5, 1});
  EXPECT_EQ(nlo, 0);
  EXPECT_EQ(nhi, 4);
}

TEST(Access, NonLinearIsRejected) {
  mlir::MLIRContext ctx;
  auto d0 = mlir::getAffineDimExpr(0, &ctx);
  EXPECT_FALSE(toLinear(d0.floorDiv(2), 1));
  EXPECT_FALSE(toLinear(d0 % 2, 1));
}

TEST(Access, Predicates) {
  EXPECT_TRUE(evalPredicate("lt", 1, 2));
  EXPECT_FALSE(evalPredicate("lt", 2, 2));
  EXPECT_TRUE(evalPredicate("le", 2, 2));
  EXPECT_TRUE(evalPredicate("gt", 3, 2));
  EXPECT_TRUE(evalPredicate("ge", 2, 2));
  EXPECT_TRUE(evalPredicate("eq", 2, 2));
  EXPECT_TRUE(evalPredicate("ne", 1, 2));
}

} // namespace
