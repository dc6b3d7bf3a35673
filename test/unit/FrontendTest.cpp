//===- FrontendTest.cpp - Parser and model builder units
//-------------------===//
#include "TestUtil.h"
#include "compiler/Frontend/EinPrinter.h"
#include "compiler/Frontend/Lexer.h"
#include <gtest/gtest.h>

using namespace cascade;
using cascade::test::Parsed;

namespace {

TEST(Lexer, TokensAndComments) {
  Lexer lex("QK[m,p] = Q[e,p] :: max(m) # comment\n1.5e-3 <= != ->");
  std::vector<Tok> kinds;
  for (Token t = lex.next(); t.kind != Tok::Eof; t = lex.next())
    kinds.push_back(t.kind);
  std::vector<Tok> want = {
      Tok::Ident,    Tok::LBracket, Tok::Ident,    Tok::Comma,      Tok::Ident,
      Tok::RBracket, Tok::Assign,   Tok::Ident,    Tok::LBracket,   Tok::Ident,
      Tok::Comma,    Tok::Ident,    Tok::RBracket, Tok::ColonColon, Tok::Ident,
      Tok::LParen,   Tok::Ident,    Tok::RParen,   Tok::Newline,    Tok::Number,
      Tok::Le,       Tok::Ne,       Tok::Arrow};
  EXPECT_EQ(kinds, want);
}

TEST(Lexer, NumberValue) {
  Lexer lex("1.5e-3 42");
  Token a = lex.next(), b = lex.next();
  EXPECT_DOUBLE_EQ(a.number, 1.5e-3);
  EXPECT_FALSE(a.isInteger);
  EXPECT_EQ(b.number, 42);
  EXPECT_TRUE(b.isInteger);
}

TEST(ModelBuilder, IterationSpaceAndReduction) {
  Parsed p(R"(ranks E=4, P=3, M=P
input Q[E,P] : f32
input K[E,M] : f32
QK[m,p] = Q[e,p] * K[e,m]
output QK)");
  ASSERT_TRUE(p.module) << p.diags;
  EinsumOp op = *p.func().getOps<EinsumOp>().begin();
  EXPECT_EQ(op.getNumLoops(), 3u);
  EXPECT_EQ(op.getNumOutputDims(), 2u);
  EXPECT_EQ(op.getIndexName(2), "e");
  EXPECT_EQ(op.getReduction(), "add");
  EXPECT_EQ(op.getExtents(), llvm::ArrayRef<int64_t>({3, 3, 4}));
}

TEST(ModelBuilder, LayersExpandWithPrefixedKeys) {
  Parsed p(R"(ranks D=2, E=D
def lin(X[D]) -> Y[D] {
  weight W[D,D] : f32 = "w"
  Y[e] = X[d] * W[d,e]
}
def two(X[D]) -> Y[D] {
  H = lin(X) prefix "a"
  Y = lin(H) prefix "b"
}
input X0[D] : f32
X1 = two(X0) prefix "m"
output X1)");
  ASSERT_TRUE(p.module) << p.diags;
  std::vector<std::string> keys;
  auto f = p.func();
  for (unsigned i = 0; i < f.getNumArguments(); ++i)
    if (auto k = f.getArgAttrOfType<mlir::StringAttr>(i, attrs::kKey))
      keys.push_back(k.str());
  EXPECT_EQ(keys, (std::vector<std::string>{"m.a.w", "m.b.w"}));
}

TEST(ModelBuilder, SeveralErrorsInOneRun) {
  Parsed p(R"(ranks I=4
input A[I] : f32
B[i] = C[i]
D[i] = A[q]
output B, D)");
  EXPECT_FALSE(p.module);
  EXPECT_NE(p.diags.find("3:8: unknown tensor 'C'"), std::string::npos)
      << p.diags;
  EXPECT_NE(p.diags.find("4:10: unknown index 'q'"), std::string::npos)
      << p.diags;
}

TEST(EinPrinter, NumbersRoundTrip) {
  EXPECT_EQ(formatNumber(1e-5), "1e-05");
  EXPECT_EQ(formatNumber(0.1), "0.1");
  EXPECT_EQ(formatNumber(64), "64");
  EXPECT_EQ(formatNumber(-INFINITY), "(-inf)");
  EXPECT_EQ(std::strtod(formatNumber(1.0 / 3).c_str(), nullptr), 1.0 / 3);
}

TEST(EinPrinter, PrintsParsableCascade) {
  Parsed p(R"(ranks I=4, T=2
input A[T,I] : f32
init S[0,i] = 0
S[t+1,i] = max(S[t,i], A[t,i])
M[] = S[T,i] :: max(i)
output M)");
  ASSERT_TRUE(p.module) << p.diags;
  std::string text;
  llvm::raw_string_ostream os(text);
  ASSERT_TRUE(mlir::succeeded(printAsEin(*p.module, os)));
  EXPECT_NE(text.find("init S[0, i] = 0"), std::string::npos) << text;
  EXPECT_NE(text.find("S[t+1, i] = max(S[t, i], A[t, i])"), std::string::npos)
      << text;
  EXPECT_NE(text.find("M[] = S[2, i] :: max(i)"), std::string::npos) << text;
  Parsed again(text);
  EXPECT_TRUE(again.module) << again.diags;
}

} // namespace
