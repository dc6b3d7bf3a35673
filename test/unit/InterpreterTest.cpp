//===- InterpreterTest.cpp - The reference interpreter vs hand values
//------===//
#include "TestUtil.h"
#include <cmath>
#include <gtest/gtest.h>

using namespace cascade;
using cascade::test::Parsed;

namespace {

TEST(Interpreter, Matmul2x2) {
  Parsed p(R"(ranks I=2, J=2, L=2
input A[L,I] : f32
input B[L,J] : f32
Z[i,j] = A[l,i] * B[l,j]
output Z)");
  ASSERT_TRUE(p.module) << p.diags;
  // A = [[1,2],[3,4]] (rows l), B = [[5,6],[7,8]]: Z[i,j] = sum_l A[l,i]B[l,j]
  auto out = p.run({{{2, 2}, {1, 2, 3, 4}}, {{2, 2}, {5, 6, 7, 8}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, (std::vector<double>{1 * 5 + 3 * 7, 1 * 6 + 3 * 8,
                                              2 * 5 + 4 * 7, 2 * 6 + 4 * 8}));
}

TEST(Interpreter, MaxMinProductReductions) {
  Parsed p(R"(ranks I=3
input A[I] : f32
MX[] = A[i] :: max(i)
MN[] = A[i] :: min(i)
PR[] = A[i] :: *(i)
output MX, MN, PR)");
  ASSERT_TRUE(p.module) << p.diags;
  auto out = p.run({{{3}, {2, -5, 4}}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].data[0], 4);
  EXPECT_EQ(out[1].data[0], -5);
  EXPECT_EQ(out[2].data[0], -40);
}

TEST(Interpreter, SoftmaxRow) {
  Parsed p(R"(ranks M=3
input X[M] : f32
GM[] = X[m] :: max(m)
SN[m] = exp(X[m] - GM[])
SD[] = SN[m]
Y[m] = SN[m] / SD[]
output Y)");
  ASSERT_TRUE(p.module) << p.diags;
  auto out = p.run({{{3}, {1, 2, 3}}});
  double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(out[0].data[0], std::exp(1.0) / s, 1e-15);
  EXPECT_NEAR(out[0].data[2], std::exp(3.0) / s, 1e-15);
}

TEST(Interpreter, FullyMaskedRowGivesZerosNotNaN) {
  // Every score masked: GM = -inf, -inf - -inf = -inf, exp = 0, 0/0 = 0.
  Parsed p(R"(ranks M=2, P=2
input S[M,P] : f32
MS[m,p] = where(m < 0, S[m,p], -inf)
GM[p] = MS[m,p] :: max(m)
SN[m,p] = exp(MS[m,p] - GM[p])
SD[p] = SN[m,p]
Y[m,p] = SN[m,p] / SD[p]
output Y)");
  ASSERT_TRUE(p.module) << p.diags;
  auto out = p.run({{{2, 2}, {1, 2, 3, 4}}});
  for (double v : out[0].data)
    EXPECT_EQ(v, 0.0);
}

TEST(Interpreter, GuardedShiftedReadIsNotPerformed) {
  // Y[i] = sum_r X[i+r] where in range (a 1-D box filter with zero padding).
  Parsed p(R"(ranks I=4, R=2
input X[I] : f32
Y[i] = where(i + r < I, X[i + r], 0)
output Y)");
  ASSERT_TRUE(p.module) << p.diags;
  auto out = p.run({{{4}, {1, 2, 3, 4}}});
  EXPECT_EQ(out[0].data, (std::vector<double>{3, 5, 7, 4}));
}

TEST(Interpreter, RecurrenceRunningSum) {
  Parsed p(R"(ranks T=3, I=2
input A[T,I] : f32
init S[0,i] = 10
S[t+1,i] = S[t,i] + A[t,i]
F[i] = S[T,i]
output S, F)");
  ASSERT_TRUE(p.module) << p.diags;
  auto out = p.run({{{3, 2}, {1, 2, 3, 4, 5, 6}}});
  EXPECT_EQ(out[0].shape, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(out[0].data, (std::vector<double>{10, 10, 11, 12, 14, 16, 19, 22}));
  EXPECT_EQ(out[1].data, (std::vector<double>{19, 22}));
}

TEST(Interpreter, AffineSplitRead) {
  Parsed p(R"(ranks M=6, M1=2, M0=3
input K[M] : f32
BK[m1,m0] = K[m1*M0 + m0]
output BK)");
  ASSERT_TRUE(p.module) << p.diags;
  auto out = p.run({{{6}, {0, 1, 2, 3, 4, 5}}});
  EXPECT_EQ(out[0].data, (std::vector<double>{0, 1, 2, 3, 4, 5}));
}

TEST(Interpreter, Functions) {
  Parsed p(R"(ranks I=1
input X[I] : f32
Y[i] = gelu(X[i]) + 2 * sigmoid(X[i]) + 4 * silu(X[i]) + 8 * relu(-X[i]) + pow(X[i], 3) + recip(X[i]) + rsqrt(X[i]) + gelu_tanh(X[i])
output Y)");
  ASSERT_TRUE(p.module) << p.diags;
  double x = 0.5;
  double sig = 1 / (1 + std::exp(-x));
  double want =
      0.5 * x * (1 + std::erf(x / std::sqrt(2.0))) + 2 * sig + 4 * x * sig + 0 +
      x * x * x + 1 / x + 1 / std::sqrt(x) +
      0.5 * x *
          (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  auto out = p.run({{{1}, {x}}});
  EXPECT_NEAR(out[0].data[0], want, 1e-14);
}

TEST(Interpreter, IeeeExceptions) {
  EXPECT_EQ(refAdd(-INFINITY, INFINITY), -INFINITY);
  EXPECT_EQ(refBinary("sub", -INFINITY, -INFINITY), -INFINITY);
  EXPECT_TRUE(std::isnan(refAdd(NAN, 1.0)));
  EXPECT_EQ(refDiv(0.0, 0.0), 0.0);
  EXPECT_EQ(refDiv(1.0, 0.0), INFINITY);
  EXPECT_TRUE(std::isnan(refBinary("max", NAN, 1.0)));
}

TEST(Interpreter, WrongArgumentShapeIsAnError) {
  Parsed p(R"(ranks I=2
input X[I] : f32
Y[i] = X[i]
output Y)");
  ASSERT_TRUE(p.module) << p.diags;
  std::string err;
  EXPECT_TRUE(mlir::failed(interpret(p.func(), {{{3}, {1, 2, 3}}}, err)));
  EXPECT_NE(err.find("wrong shape"), std::string::npos);
}

} // namespace
