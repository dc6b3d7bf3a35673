//===- BodyEmitter.h - An equation's body as arith and math ops -*- C++ -*-===//
//
// The scalar (or vector) code of one point of an einsum's iteration space:
// its reads as loads from the buffers (through the layout a fused group
// gives them), its functions and operators with the IEEE rules of
// LANGUAGE.md section 3, `where` as a select or an scf.if, and the combine
// of its reduction. Every loop nest and kernel epilogue of
// cascade-lower-to-loops emits bodies through it.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_PASSES_CONVERSION_BODYEMITTER_H
#define CASCADE_PASSES_CONVERSION_BODYEMITTER_H

#include "dialects/Cascade/IR/Access.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include <cmath>
#include <functional>
#include <optional>

namespace cascade {
// The emitter is written against MLIR's names; the using-directive stays
// inside this namespace.
namespace body_emitter {
using namespace mlir;

/// How a buffer holds its tensor when a recurrence group is fused into one
/// loop over its iterative index (see fuseRecurrenceGroups): without the
/// first dimension (a slice for the current step), or with only two
/// positions of it (the previous and the current step).
struct Layout {
  bool dropFirst = false;
  bool rollingFirst = false;
  bool singleFirst = false; // a recurrence updated in place: one position
  // Inside shared loops, a buffer holds only the part of its tensor they
  // select: per buffer dimension, the index its position 0 stands for (the
  // fixed index, or the tile's first one); null where it holds the whole.
  SmallVector<Value> offsets;
};
using LayoutMap = llvm::DenseMap<Value, Layout>;

inline SmallVector<Value> bufferIndex(OpBuilder &b, Location loc, Value buf,
                                      ValueRange idx,
                                      const LayoutMap *layouts) {
  SmallVector<Value> out(idx.begin(), idx.end());
  if (!layouts)
    return out;
  auto it = layouts->find(buf);
  if (it == layouts->end())
    return out;
  if (it->second.dropFirst) {
    out.erase(out.begin());
  } else if (it->second.singleFirst) {
    out[0] = arith::ConstantIndexOp::create(b, loc, 0);
  } else if (it->second.rollingFirst) {
    if (auto c = out[0].getDefiningOp<arith::ConstantIndexOp>())
      out[0] = arith::ConstantIndexOp::create(b, loc, c.value() % 2);
    else
      out[0] = arith::RemUIOp::create(
          b, loc, out[0], arith::ConstantIndexOp::create(b, loc, 2));
  }
  for (auto [i, offset] : llvm::enumerate(it->second.offsets))
    if (offset)
      out[i] = out[i] == offset
                   ? (Value)arith::ConstantIndexOp::create(b, loc, 0)
                   : (Value)arith::SubIOp::create(b, loc, out[i], offset);
  return out;
}

inline Value loadAt(OpBuilder &b, Location loc, Value buf, ValueRange idx,
                    const LayoutMap *layouts) {
  return memref::LoadOp::create(b, loc, buf,
                                bufferIndex(b, loc, buf, idx, layouts));
}

inline void storeAt(OpBuilder &b, Location loc, Value v, Value buf,
                    ValueRange idx, const LayoutMap *layouts) {
  memref::StoreOp::create(b, loc, v, buf,
                          bufferIndex(b, loc, buf, idx, layouts));
}

/// The output element a point of `op`'s iteration space writes: its output
/// indices, with a recurrence's iterative index one step ahead (m1 + 1).
inline SmallVector<Value> outputIndex(OpBuilder &b, EinsumOp op,
                                      ArrayRef<Value> ivs) {
  SmallVector<Value> idx(ivs.begin(), ivs.begin() + op.getNumOutputDims());
  if (std::optional<int64_t> iter = op.getIterative())
    idx[*iter] = arith::AddIOp::create(
        b, op.getLoc(), idx[*iter],
        arith::ConstantIndexOp::create(b, op.getLoc(), 1));
  return idx;
}

/// Emits the scalar body of an einsum at one iteration point.
class BodyEmitter {
public:
  BodyEmitter(OpBuilder &b, EinsumOp op, ArrayRef<Value> ivs,
              ArrayRef<Value> argBuffers, const LayoutMap *layouts = nullptr)
      : b(b), op(op), ivs(ivs), argBuffers(argBuffers), layouts(layouts) {}

  /// Evaluates the body on vectors of `type` (a kernel's register tile):
  /// `read` gives the vector of each read; constants are splats. Bodies
  /// with `where` are not supported this way.
  BodyEmitter(OpBuilder &b, EinsumOp op, VectorType type,
              std::function<Value(ReadOp)> read)
      : b(b), op(op), vecType(type), vectorRead(std::move(read)) {}

  Value emitRegion(Region &region) {
    Block &block = region.front();
    for (Operation &inner : block.without_terminator())
      if (!emitOp(inner))
        return {};
    return values.lookup(cast<YieldOp>(block.getTerminator()).getValue());
  }

  /// The combiner of `red`'s reduction: acc `kind` x. Reductions follow
  /// IEEE arithmetic (the -inf rule is for elementwise + and -); `reassoc`
  /// lets LLVM reorder a register accumulation into vector lanes.
  static Value combine(OpBuilder &b, Location loc, EinsumOp red, Value acc,
                       Value x, bool reassoc = false) {
    StringRef kind = red.getReduction();
    auto fm = arith::FastMathFlagsAttr::get(
        b.getContext(),
        reassoc ? arith::FastMathFlags::reassoc | arith::FastMathFlags::contract
                : arith::FastMathFlags::none);
    if (kind == "add")
      return arith::AddFOp::create(b, loc, acc, x, fm);
    if (kind == "mul")
      return arith::MulFOp::create(b, loc, acc, x, fm);
    // A relaxed max (see kRelaxedMaxAttr) is x > acc ? x : acc, which x86
    // does in one vmaxps; IEEE maximum needs a compare and blend around it
    // for NaN and the sign of zero.
    if (kind == "max" && red->hasAttr(kRelaxedMaxAttr))
      return arith::SelectOp::create(
          b, loc,
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, acc), x,
          acc);
    if (kind == "max")
      return arith::MaximumFOp::create(b, loc, acc, x);
    return arith::MinimumFOp::create(b, loc, acc, x);
  }

  static double identity(StringRef kind) {
    if (kind == "add")
      return 0.0;
    if (kind == "mul")
      return 1.0;
    if (kind == "max")
      return -INFINITY;
    return INFINITY;
  }

  /// `a + b` (or `a - b`) giving -inf where IEEE gives NaN from two non-NaN
  /// operands (LANGUAGE.md section 3).
  static Value addWithInfRule(OpBuilder &b, Location loc, Value x, Value y,
                              bool sub, bool checked) {
    Value r = sub ? (Value)arith::SubFOp::create(b, loc, x, y)
                  : (Value)arith::AddFOp::create(b, loc, x, y);
    if (!checked)
      return r;
    Value isNaN =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, r, r);
    Value operandsOrdered =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ORD, x, y);
    Value fix = arith::AndIOp::create(b, loc, isNaN, operandsOrdered);
    Value negInf =
        createScalarOrSplatConstant(b, loc, r.getType(), APFloat(-INFINITY));
    return arith::SelectOp::create(b, loc, fix, negInf, r);
  }

private:
  Location loc(Operation &o) { return o.getLoc(); }

  Value f32(Location l, double v) {
    return createScalarOrSplatConstant(
        b, l, vecType ? Type(vecType) : b.getF32Type(), APFloat((float)v));
  }

  /// The finite constant an SSA value holds, if any.
  std::optional<double> finiteConstant(Value v) {
    auto it = constants.find(v);
    if (it == constants.end() || !std::isfinite(it->second))
      return std::nullopt;
    return it->second;
  }

  Value indexValue(AffineMap map, unsigned result) {
    Location l = op.getLoc();
    AffineMap single = map.getSubMap({result});
    if (auto c = dyn_cast<AffineConstantExpr>(single.getResult(0)))
      return arith::ConstantIndexOp::create(b, l, c.getValue());
    if (auto d = dyn_cast<AffineDimExpr>(single.getResult(0)))
      return ivs[d.getPosition()];
    return affine::AffineApplyOp::create(b, l, single, ivs);
  }

  bool emitOp(Operation &o) {
    Location l = loc(o);
    Value result;
    if (auto read = dyn_cast<ReadOp>(o); read && vectorRead) {
      result = vectorRead(read);
    } else if (auto read = dyn_cast<ReadOp>(o)) {
      auto arg = cast<BlockArgument>(read.getTensor());
      SmallVector<Value> idx;
      for (unsigned r = 0; r < read.getMap().getNumResults(); ++r)
        idx.push_back(indexValue(read.getMap(), r));
      result = loadAt(b, l, argBuffers[arg.getArgNumber()], idx, layouts);
    } else if (auto c = dyn_cast<ConstOp>(o)) {
      double v = c.getValue().convertToDouble();
      result = f32(l, v);
      constants[c.getResult()] = v;
      values.map(c.getResult(), result);
      constants[result] = v;
      return true;
    } else if (auto u = dyn_cast<UnaryOp>(o)) {
      result = emitUnary(l, u.getFn(), values.lookup(u.getOperand()));
    } else if (auto bin = dyn_cast<BinaryOp>(o)) {
      result = emitBinary(l, bin);
    } else if (auto sel = dyn_cast<SelectOp>(o)) {
      // Ordered comparisons (false with NaN), `ne` unordered (true).
      auto pred = llvm::StringSwitch<arith::CmpFPredicate>(sel.getPred())
                      .Case("lt", arith::CmpFPredicate::OLT)
                      .Case("le", arith::CmpFPredicate::OLE)
                      .Case("gt", arith::CmpFPredicate::OGT)
                      .Case("ge", arith::CmpFPredicate::OGE)
                      .Case("eq", arith::CmpFPredicate::OEQ)
                      .Default(arith::CmpFPredicate::UNE);
      Value c = arith::CmpFOp::create(b, l, pred, values.lookup(sel.getLhs()),
                                      values.lookup(sel.getRhs()));
      result = arith::SelectOp::create(b, l, c, values.lookup(sel.getOnTrue()),
                                       values.lookup(sel.getOnFalse()));
    } else if (auto where = dyn_cast<WhereOp>(o); where && !vecType) {
      result = emitWhere(where);
    } else {
      o.emitOpError("cannot be lowered to loops");
      return false;
    }
    if (!result)
      return false;
    values.map(o.getResult(0), result);
    return true;
  }

  Value emitUnary(Location l, StringRef fn, Value x) {
    if (fn == "neg")
      return arith::NegFOp::create(b, l, x);
    if (fn == "exp")
      return math::ExpOp::create(b, l, x);
    if (fn == "log")
      return math::LogOp::create(b, l, x);
    if (fn == "sqrt")
      return math::SqrtOp::create(b, l, x);
    if (fn == "rsqrt")
      return math::RsqrtOp::create(b, l, x);
    if (fn == "tanh")
      return math::TanhOp::create(b, l, x);
    if (fn == "erf")
      return math::ErfOp::create(b, l, x);
    if (fn == "abs")
      return math::AbsFOp::create(b, l, x);
    if (fn == "recip")
      return arith::DivFOp::create(b, l, f32(l, 1.0), x);
    if (fn == "trunc")
      return math::TruncOp::create(b, l, x);
    if (fn == "round_bf16")
      return roundBf16(l, x);
    if (fn == "round_f16")
      return roundF16(l, x);
    if (fn == "relu")
      return arith::MaximumFOp::create(b, l, x, f32(l, 0.0));
    if (fn == "sigmoid")
      return sigmoid(l, x);
    if (fn == "silu")
      return arith::MulFOp::create(b, l, x, sigmoid(l, x));
    if (fn == "gelu") {
      // x * 0.5 * (1 + erf(x / sqrt(2)))
      Value e = math::ErfOp::create(
          b, l, arith::MulFOp::create(b, l, x, f32(l, M_SQRT1_2)));
      Value half = arith::MulFOp::create(b, l, x, f32(l, 0.5));
      return arith::MulFOp::create(b, l, half,
                                   arith::AddFOp::create(b, l, f32(l, 1.0), e));
    }
    // gelu_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    Value x3 =
        arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, x, x), x);
    Value inner = arith::AddFOp::create(
        b, l, x, arith::MulFOp::create(b, l, x3, f32(l, 0.044715)));
    Value t = math::TanhOp::create(
        b, l,
        arith::MulFOp::create(b, l, inner, f32(l, std::sqrt(2.0 / M_PI))));
    Value half = arith::MulFOp::create(b, l, x, f32(l, 0.5));
    return arith::MulFOp::create(b, l, half,
                                 arith::AddFOp::create(b, l, f32(l, 1.0), t));
  }

  /// bf16 keeps f32's top 16 bits: round the low 16 to nearest, ties to
  /// even, on the bits (in f32 and i32 arithmetic, which every target has;
  /// a carry into the exponent gives the next binade or infinity). NaN
  /// stays NaN.
  Value roundBf16(Location l, Value x) {
    Type i32 = b.getI32Type();
    if (vecType)
      i32 = VectorType::get(vecType.getShape(), i32);
    auto c = [&](int64_t v) {
      return createScalarOrSplatConstant(b, l, i32, APInt(32, v, true));
    };
    Value u = arith::BitcastOp::create(b, l, i32, x);
    Value lsb = arith::AndIOp::create(
        b, l, arith::ShRUIOp::create(b, l, u, c(16)), c(1));
    Value rounded = arith::AndIOp::create(
        b, l,
        arith::AddIOp::create(b, l, arith::AddIOp::create(b, l, u, c(0x7FFF)),
                              lsb),
        c((int64_t)0xFFFF0000u));
    Value r = arith::BitcastOp::create(b, l, x.getType(), rounded);
    Value isNan = arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNO, x, x);
    return arith::SelectOp::create(b, l, isNan, x, r);
  }

  /// f16: 11 significant bits and quanta of 2^-24 below 2^-14. Veltkamp's
  /// split rounds to 11 bits (to nearest; an exact tie may go either way,
  /// where the reference goes to even); adding and
  /// subtracting 0.75 rounds the subnormal range to multiples of 2^-24;
  /// beyond 65504 (after rounding) is infinity. Exact in f32 arithmetic.
  Value roundF16(Location l, Value x) {
    Value scaled = arith::MulFOp::create(b, l, x, f32(l, 8193.0));
    Value normal = arith::SubFOp::create(
        b, l, scaled, arith::SubFOp::create(b, l, scaled, x));
    Value sub = arith::SubFOp::create(
        b, l, arith::AddFOp::create(b, l, x, f32(l, 0.75)), f32(l, 0.75));
    Value ax = math::AbsFOp::create(b, l, x);
    Value tiny = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, ax,
                                       f32(l, std::ldexp(1.0, -14)));
    Value r = arith::SelectOp::create(b, l, tiny, sub, normal);
    // |x| >= 65520 rounds past the largest f16 (65504): infinity, signed.
    Value huge = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGE, ax,
                                       f32(l, 65520.0));
    Value negative =
        arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, f32(l, 0));
    Value inf = arith::SelectOp::create(b, l, negative, f32(l, -INFINITY),
                                        f32(l, INFINITY));
    r = arith::SelectOp::create(b, l, huge, inf, r);
    // NaN, infinities and zeros (their sign) pass through.
    Value finite = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, ax,
                                         f32(l, INFINITY));
    Value nonzero =
        arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, ax, f32(l, 0));
    return arith::SelectOp::create(
        b, l, arith::AndIOp::create(b, l, finite, nonzero), r, x);
  }

  Value sigmoid(Location l, Value x) {
    Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
    return arith::DivFOp::create(b, l, f32(l, 1.0),
                                 arith::AddFOp::create(b, l, f32(l, 1.0), e));
  }

  Value emitBinary(Location l, BinaryOp bin) {
    Value x = values.lookup(bin.getLhs()), y = values.lookup(bin.getRhs());
    StringRef fn = bin.getFn();
    // A finite constant operand rules out the -inf/NaN and 0/0 cases.
    bool constOperand = finiteConstant(x) || finiteConstant(y);
    if (fn == "add" || fn == "sub")
      return addWithInfRule(b, l, x, y, fn == "sub", !constOperand);
    if (fn == "mul")
      return arith::MulFOp::create(b, l, x, y);
    if (fn == "max")
      return arith::MaximumFOp::create(b, l, x, y);
    if (fn == "min")
      return arith::MinimumFOp::create(b, l, x, y);
    if (fn == "div") {
      Value r = arith::DivFOp::create(b, l, x, y);
      auto cx = finiteConstant(x), cy = finiteConstant(y);
      if ((cx && *cx != 0) || (cy && *cy != 0))
        return r;
      Value zero = f32(l, 0.0);
      Value xz =
          arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, x, zero);
      Value yz =
          arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, y, zero);
      return arith::SelectOp::create(b, l, arith::AndIOp::create(b, l, xz, yz),
                                     zero, r);
    }
    // pow with a constant exponent: small integers multiply, which keeps
    // negative bases exact; halves use sqrt, with pow's value at -inf.
    std::optional<double> exponent = finiteConstant(y);
    if (!exponent)
      return math::PowFOp::create(b, l, x, y);
    double p = *exponent;
    if (p == 0.5 || p == -0.5) {
      Value root = p > 0 ? (Value)math::SqrtOp::create(b, l, x)
                         : (Value)math::RsqrtOp::create(b, l, x);
      Value isNegInf = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, x,
                                             f32(l, -INFINITY));
      return arith::SelectOp::create(b, l, isNegInf,
                                     f32(l, p > 0 ? INFINITY : 0.0), root);
    }
    if (p == std::floor(p) && std::fabs(p) <= 16) {
      int64_t n = (int64_t)std::fabs(p);
      Value acc = f32(l, 1.0), base = x;
      for (; n; n >>= 1) { // square-and-multiply
        if (n & 1)
          acc = arith::MulFOp::create(b, l, acc, base);
        if (n > 1)
          base = arith::MulFOp::create(b, l, base, base);
      }
      return p < 0 ? (Value)arith::DivFOp::create(b, l, f32(l, 1.0), acc) : acc;
    }
    return math::PowFOp::create(b, l, x, y);
  }

  Value condition(WhereOp where) {
    Location l = where.getLoc();
    Value lhs = indexValue(where.getLhs(), 0);
    Value rhs = indexValue(where.getRhs(), 0);
    auto pred = llvm::StringSwitch<arith::CmpIPredicate>(where.getPred())
                    .Case("lt", arith::CmpIPredicate::slt)
                    .Case("le", arith::CmpIPredicate::sle)
                    .Case("gt", arith::CmpIPredicate::sgt)
                    .Case("ge", arith::CmpIPredicate::sge)
                    .Case("eq", arith::CmpIPredicate::eq)
                    .Default(arith::CmpIPredicate::ne);
    return arith::CmpIOp::create(b, l, pred, lhs, rhs);
  }

  /// A branch may be evaluated where its condition is false when every read
  /// in it is in range over the whole iteration box.
  bool isSpeculatable(Region &r) {
    bool ok = true;
    r.walk([&](ReadOp read) {
      ok &= isReadAlwaysInBounds(read, op.getExtents());
    });
    return ok;
  }

  Value emitWhere(WhereOp where) {
    Location l = where.getLoc();
    Value cond = condition(where);
    if (isSpeculatable(where.getThenRegion()) &&
        isSpeculatable(where.getElseRegion())) {
      Value t = emitRegion(where.getThenRegion());
      Value e = t ? emitRegion(where.getElseRegion()) : Value();
      if (!e)
        return {};
      return arith::SelectOp::create(b, l, cond, t, e);
    }
    auto ifOp = scf::IfOp::create(b, l, TypeRange{b.getF32Type()}, cond,
                                  /*withElseRegion=*/true);
    for (auto [src, dst] :
         {std::pair{&where.getThenRegion(), &ifOp.getThenRegion()},
          std::pair{&where.getElseRegion(), &ifOp.getElseRegion()}}) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&dst->front());
      Value v = emitRegion(*src);
      if (!v)
        return {};
      scf::YieldOp::create(b, l, v);
    }
    return ifOp.getResult(0);
  }

  OpBuilder &b;
  EinsumOp op;
  ArrayRef<Value> ivs;
  ArrayRef<Value> argBuffers;
  const LayoutMap *layouts = nullptr;
  VectorType vecType;                      // set: evaluate on vectors
  std::function<Value(ReadOp)> vectorRead; // the vector of each read
  IRMapping values;
  llvm::DenseMap<Value, double> constants;
};

} // namespace body_emitter

using body_emitter::BodyEmitter;
using body_emitter::bufferIndex;
using body_emitter::Layout;
using body_emitter::LayoutMap;
using body_emitter::loadAt;
using body_emitter::outputIndex;
using body_emitter::storeAt;

} // namespace cascade

#endif
