//===- LowerToLoops.cpp - cascade.einsum to scf loop nests
//-----------------===//
#include "dialects/Cascade/IR/Access.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "passes/Conversion/ConstantIndexViews.h"
#include "passes/Conversion/ContractionKernels.h"
#include "passes/Conversion/LoopNest.h"
#include "passes/Conversion/LoopOrder.h"
#include "passes/Conversion/TiledKernel.h"
#include "passes/Passes.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include <cmath>

namespace cascade {
#define GEN_PASS_DEF_CASCADELOWERTOLOOPS
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;
using namespace cascade;

namespace {

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

/// One loop shared by the equations of a fused group: over rank `rank`
/// (whole: one index per iteration), its tile numbers (Outer, tiles of
/// `tile`) or the indices of the tile its Outer loop selects (Inner).
struct SharedLoop {
  std::string rank;
  LoopSchedule::Part part;
  int64_t extent, tile;
  bool parallel;
};

/// A recurrence group with the equations that read its final values,
/// inside shared loops the default heuristic chose.
struct TiledGroup {
  SmallVector<EinsumOp> ops;
  SmallVector<SharedLoop> shared;
};

/// Called after a loop nest stores the value `v` at output coordinates
/// `at`: for a consumer fused into the nest.
using PointHook = std::function<void(OpBuilder &, ArrayRef<Value> at, Value v)>;

SmallVector<Value> bufferIndex(OpBuilder &b, Location loc, Value buf,
                               ValueRange idx, const LayoutMap *layouts) {
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

Value loadAt(OpBuilder &b, Location loc, Value buf, ValueRange idx,
             const LayoutMap *layouts) {
  return memref::LoadOp::create(b, loc, buf,
                                bufferIndex(b, loc, buf, idx, layouts));
}

void storeAt(OpBuilder &b, Location loc, Value v, Value buf, ValueRange idx,
             const LayoutMap *layouts) {
  memref::StoreOp::create(b, loc, v, buf,
                          bufferIndex(b, loc, buf, idx, layouts));
}

/// The output element a point of `op`'s iteration space writes: its output
/// indices, with a recurrence's iterative index one step ahead (m1 + 1).
SmallVector<Value> outputIndex(OpBuilder &b, EinsumOp op, ArrayRef<Value> ivs) {
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

/// Builds a loop nest over `extents` in `order`; `body` gets the induction
/// variables indexed by dimension (not by loop depth). With `parallelOuter`
/// the outermost loop is an `scf.parallel` (its iterations write disjoint
/// outputs), which the OpenMP conversion runs on the thread pool.
void buildNest(OpBuilder &b, Location loc, ArrayRef<int64_t> extents,
               ArrayRef<unsigned> order,
               function_ref<void(OpBuilder &, ArrayRef<Value>)> body,
               ArrayRef<int64_t> lowerBounds = {}, bool parallelOuter = false,
               Value fixedDim0 = {}) {
  SmallVector<LoopLevel> levels;
  for (unsigned d : order) {
    LoopLevel l;
    l.dim = d;
    l.extent = extents[d];
    l.lowerBound = lowerBounds.empty() ? 0 : lowerBounds[d];
    l.parallel = parallelOuter && levels.empty();
    levels.push_back(l);
  }
  SmallVector<Value> fixed(extents.size());
  if (fixedDim0)
    fixed[0] = fixedDim0; // the step of an enclosing fused loop
  buildLoopNest(b, loc, levels, fixed, body);
}

SmallVector<unsigned> identityOrder(unsigned n) {
  return llvm::to_vector(llvm::seq<unsigned>(0, n));
}

struct LowerToLoops
    : public cascade::impl::CascadeLowerToLoopsBase<LowerToLoops> {
  using CascadeLowerToLoopsBase::CascadeLowerToLoopsBase;
  void runOnOperation() override {
    if (l2Bytes < 1) {
      getOperation().emitError("cascade-lower-to-loops: l2-bytes must be "
                               "positive");
      return signalPassFailure();
    }
    if (kUnroll < 1) {
      getOperation().emitError("cascade-lower-to-loops: k-unroll must be "
                               "positive");
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> models;
    // Functions whose signature is already on buffers were lowered before.
    getOperation().walk([&](func::FuncOp f) {
      auto isTensor = [](Type t) { return isa<RankedTensorType>(t); };
      bool onTensors =
          llvm::any_of(f.getFunctionType().getInputs(), isTensor) ||
          llvm::any_of(f.getFunctionType().getResults(), isTensor);
      if ((f->hasAttr(attrs::kModel) || f->hasAttr(kLayerAttr)) && onTensors)
        models.push_back(f);
    });
    for (func::FuncOp f : models) {
      if (failed(lowerFunction(f)))
        return signalPassFailure();
    }
  }

  static MemRefType bufferType(Type t) {
    auto tt = cast<RankedTensorType>(t);
    return MemRefType::get(tt.getShape(), tt.getElementType());
  }

  LogicalResult lowerFunction(func::FuncOp f) {
    OpBuilder b(f.getContext());
    Block &entry = f.getBody().front();
    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    unsigned numArgs = f.getNumArguments();

    // New signature: the old arguments as buffers, then one out-param per
    // result.
    SmallVector<Type> argTypes;
    for (Type t : f.getArgumentTypes())
      argTypes.push_back(bufferType(t));
    for (Type t : f.getResultTypes())
      argTypes.push_back(bufferType(t));
    IRMapping buffers;
    for (unsigned i = 0; i < numArgs; ++i) {
      BlockArgument old = entry.getArgument(i);
      old.setType(argTypes[i]);
      buffers.map(old, old);
    }
    SmallVector<Value> outParams;
    for (unsigned i = 0; i < f.getNumResults(); ++i)
      outParams.push_back(entry.addArgument(argTypes[numArgs + i], f.getLoc()));
    SmallVector<DictionaryAttr> argAttrs, resAttrs;
    f.getAllArgAttrs(argAttrs);
    f.getAllResultAttrs(resAttrs);
    for (unsigned i = 0; i < f.getNumResults(); ++i) {
      NamedAttrList attrsList(resAttrs[i]);
      attrsList.set(attrs::kRole, b.getStringAttr("output"));
      argAttrs.push_back(attrsList.getDictionary(f.getContext()));
    }
    for (DictionaryAttr &d : argAttrs) {
      NamedAttrList l(d);
      l.set("llvm.noalias", b.getUnitAttr());
      d = l.getDictionary(f.getContext());
    }
    f.setType(b.getFunctionType(argTypes, {}));
    f.setAllArgAttrs(argAttrs);
    f.setAllResultAttrs(ArrayRef<DictionaryAttr>{});

    // Results returned as outputs are computed directly into the out-param.
    llvm::DenseMap<Value, Value> outputBuffer;
    for (auto [i, v] : llvm::enumerate(ret.getOperands()))
      if (isa_and_nonnull<EinsumOp, func::CallOp>(v.getDefiningOp()) &&
          !outputBuffer.count(v))
        outputBuffer[v] = outParams[i];

    // Last user of each value, for deallocation.
    llvm::DenseMap<Value, Operation *> lastUse;
    for (Operation &o : entry)
      for (Value v : o.getOperands())
        lastUse[v] = &o;

    SmallVector<EinsumOp> einsums(entry.getOps<EinsumOp>());
    SmallVector<Value> allocated;
    sched = LoopSchedule::fromFunction(f);
    warnUnusedDirectives(einsums);
    userGroups = collectUserGroups(einsums);
    groups = fuseRecurrences ? findRecurrenceGroups(einsums, ret)
                             : SmallVector<SmallVector<EinsumOp>>{};
    dropStraddlingGroups();
    if (failed(checkGroupsContiguous()))
      return failure();
    tiled.clear();
    storeFused.clear();
    if (tileRecurrences)
      for (auto &g : groups)
        if (std::optional<TiledGroup> t = planTiledGroup(g, einsums))
          tiled.push_back(std::move(*t));
    SmallVector<func::CallOp> calls;
    for (Operation &o : llvm::make_early_inc_range(entry)) {
      if (auto call = dyn_cast<func::CallOp>(o)) {
        lowerCall(b, call, outputBuffer, buffers, allocated, lastUse);
        calls.push_back(call);
        continue;
      }
      auto op = dyn_cast<EinsumOp>(o);
      if (!op)
        continue;
      b.setInsertionPoint(op);
      if (foldedInit(op))
        continue; // stored directly by its recurrence's init copy
      if (TiledGroup *t = tiledGroupOf(op)) {
        if (op != t->ops.back())
          continue; // the whole group is emitted at its last equation
        if (failed(lowerSharedLoops(b, op.getLoc(), t->ops, t->shared,
                                    outputBuffer, buffers, allocated, lastUse)))
          return failure();
        continue;
      }
      if (SmallVector<EinsumOp> *group = userGroupOf(op)) {
        if (op != group->back())
          continue; // the whole group is emitted at its last member
        if (failed(lowerUserGroup(b, *group, outputBuffer, buffers, allocated,
                                  lastUse)))
          return failure();
        continue;
      }
      if (SmallVector<EinsumOp> *group = groupOf(op)) {
        if (op != group->back())
          continue; // the whole group is emitted at its last member
        if (failed(lowerGroup(b, *group, buffers, allocated, lastUse, {},
                              /*nested=*/false)))
          return failure();
        continue;
      }
      if (storeFused.contains(op))
        continue; // computed by its producer's kernel
      Value buf = mapBuffer(b, op, outputBuffer, buffers, allocated);
      SmallVector<EinsumOp, 2> done{op};
      if (EinsumOp cons = storeConsumer(op)) {
        if (failed(lowerWithConsumer(b, op, cons, buf, outputBuffer, buffers,
                                     allocated)))
          return failure();
        storeFused.insert(cons);
        done.push_back(cons);
      } else if (failed(lowerEinsum(b, op, buf, buffers))) {
        return failure();
      }
      // Free inputs whose last use this was.
      for (EinsumOp d : done)
        for (Value in : d->getOperands())
          if (lastUse.lookup(in) == d.getOperation() &&
              llvm::is_contained(allocated, in))
            memref::DeallocOp::create(b, d.getLoc(), buffers.lookup(in));
    }
    // Copy results that are not computed in place (inputs returned, or one
    // einsum returned twice).
    b.setInsertionPoint(ret);
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      Value src = buffers.lookup(v);
      if (src != outParams[i])
        memref::CopyOp::create(b, ret.getLoc(), src, outParams[i]);
    }
    for (Value v : allocated)
      if (!lastUse.count(v) || isa<func::ReturnOp>(lastUse.lookup(v)))
        if (buffers.lookup(v) &&
            !llvm::is_contained(outParams, buffers.lookup(v)))
          memref::DeallocOp::create(b, ret.getLoc(), buffers.lookup(v));
    func::ReturnOp::create(b, ret.getLoc());
    ret.erase();
    for (func::CallOp call : calls) {
      call->dropAllUses();
      call.erase();
    }
    for (EinsumOp op : llvm::reverse(einsums)) {
      op.getResult().dropAllUses();
      op.erase();
    }
    return success();
  }

  /// An elementwise equation that `op`'s contraction kernel can compute as
  /// it stores each vector of sums, so that `op`'s result never goes to
  /// memory (bias, GELU, residual: `FA[p,f] = gelu(FI[p,f] + BI[f])` after
  /// `FI[p,f] = X1[p,d] * WI[f,d]`). It must be the only reader of op's
  /// result, read it once at the same point, and have no `where`; each of
  /// its other reads must be a plain read whose coordinates skip op's last
  /// index (one broadcast element) or end with it (a vector load); its other
  /// inputs must be computed before op. Neither is scheduled or grouped.
  EinsumOp storeConsumer(EinsumOp op) {
    if (!kernels || !op.hasReduction() || op.isRecurrence() ||
        sched.touches(op) || !op.getResult().hasOneUse())
      return {};
    auto cons = dyn_cast<EinsumOp>(*op.getResult().getUsers().begin());
    if (!cons || cons->getBlock() != op->getBlock() || sched.touches(cons) ||
        cons.hasReduction() || cons.isRecurrence() ||
        cons.getNumLoops() != cons.getNumOutputDims() || groupOf(cons) ||
        userGroupOf(cons) || tiledGroupOf(cons) || foldedInit(cons))
      return {};
    auto opType = cast<RankedTensorType>(op.getType());
    auto consType = cast<RankedTensorType>(cons.getType());
    if (opType.getShape() != consType.getShape() ||
        !opType.getElementType().isF32() || !consType.getElementType().isF32())
      return {};
    unsigned numOut = cons.getNumOutputDims();
    if (numOut == 0)
      return {};
    int producerReads = 0;
    bool ok = true;
    cons.getBody().walk([&](Operation *o) {
      if (isa<WhereOp>(o))
        ok = false;
      auto read = dyn_cast<ReadOp>(o);
      if (!read)
        return;
      std::optional<SmallVector<unsigned>> dims = plainIndices(read);
      if (!dims) {
        ok = false;
        return;
      }
      unsigned arg = cast<BlockArgument>(read.getTensor()).getArgNumber();
      if (cons.getInputs()[arg] == op.getResult()) {
        ++producerReads;
        ok &= *dims == identityOrder(numOut);
      } else if (llvm::is_contained(*dims, numOut - 1)) {
        ok &= dims->back() == numOut - 1;
      }
    });
    if (!ok || producerReads != 1)
      return {};
    for (Value in : cons.getInputs())
      if (Operation *def = in.getDefiningOp();
          def && def != op && !def->isBeforeInBlock(op))
        return {};
    return cons;
  }

  /// Lowers `op` with `cons` (storeConsumer) computed in its kernel's
  /// stores; where no kernel takes the hook, lowers both as usual.
  LogicalResult
  lowerWithConsumer(OpBuilder &b, EinsumOp op, EinsumOp cons, Value buf,
                    const llvm::DenseMap<Value, Value> &outputBuffer,
                    IRMapping &buffers, SmallVector<Value> &allocated) {
    Location loc = cons.getLoc();
    Value consBuf = mapBuffer(b, cons, outputBuffer, buffers, allocated);
    SmallVector<Value> args;
    for (Value in : cons.getInputs())
      args.push_back(buffers.lookup(in));
    unsigned last = cons.getNumOutputDims() - 1;
    bool used = false, ok = true;
    TileStore store{
        [&](OpBuilder &sb, ArrayRef<Value> at, Value v) {
          auto type = cast<VectorType>(v.getType());
          auto read = [&](ReadOp r) -> Value {
            unsigned arg = cast<BlockArgument>(r.getTensor()).getArgNumber();
            if (cons.getInputs()[arg] == op.getResult())
              return v;
            SmallVector<Value> idx;
            SmallVector<unsigned> dims = *plainIndices(r);
            for (unsigned d : dims)
              idx.push_back(at[d]);
            SmallVector<Value> pos =
                bufferIndex(sb, loc, args[arg], idx, &layouts);
            if (!dims.empty() && dims.back() == last)
              return vector::LoadOp::create(sb, loc, type, args[arg], pos);
            return vector::BroadcastOp::create(
                sb, loc, type, memref::LoadOp::create(sb, loc, args[arg], pos));
          };
          BodyEmitter emitter(sb, cons, type, read);
          Value r = emitter.emitRegion(cons.getBody());
          if (!r) {
            ok = false;
            return;
          }
          vector::StoreOp::create(sb, loc, r, consBuf,
                                  bufferIndex(sb, loc, consBuf, at, &layouts));
        },
        &used};
    if (failed(lowerEinsum(b, op, buf, buffers, {}, nullptr, nullptr, store)))
      return failure();
    if (!ok)
      return failure();
    if (!used)
      return lowerEinsum(b, cons, consBuf, buffers);
    // The kernel never touched op's buffer: drop its allocation.
    if (auto alloc = buf.getDefiningOp<memref::AllocOp>();
        alloc && alloc->use_empty()) {
      alloc->erase();
      llvm::erase(allocated, op.getResult());
    }
    return success();
  }

  /// A call of an outlined layer (cascade-outline-layers) becomes a call of
  /// the lowered layer on buffers: its arguments, then one buffer per result
  /// (the out-parameter when the model returns it, else a new allocation).
  void lowerCall(OpBuilder &b, func::CallOp call,
                 const llvm::DenseMap<Value, Value> &outputBuffer,
                 IRMapping &buffers, SmallVector<Value> &allocated,
                 const llvm::DenseMap<Value, Operation *> &lastUse) {
    b.setInsertionPoint(call);
    SmallVector<Value> args;
    for (Value in : call.getOperands())
      args.push_back(buffers.lookup(in));
    for (Value r : call.getResults())
      args.push_back(
          mapBuffer(b, r, call.getLoc(), outputBuffer, buffers, allocated));
    func::CallOp::create(b, call.getLoc(), call.getCallee(), TypeRange{}, args);
    for (Value in : call.getOperands())
      if (lastUse.lookup(in) == call.getOperation() &&
          llvm::is_contained(allocated, in))
        memref::DeallocOp::create(b, call.getLoc(), buffers.lookup(in));
  }

  /// The whole buffer of `op`'s result: its output parameter when it is
  /// returned, else a new allocation (recorded in `allocated`).
  Value mapBuffer(OpBuilder &b, EinsumOp op,
                  const llvm::DenseMap<Value, Value> &outputBuffer,
                  IRMapping &buffers, SmallVector<Value> &allocated) {
    return mapBuffer(b, op.getResult(), op.getLoc(), outputBuffer, buffers,
                     allocated);
  }
  /// The same for any tensor value (a layer call's result).
  Value mapBuffer(OpBuilder &b, Value result, Location loc,
                  const llvm::DenseMap<Value, Value> &outputBuffer,
                  IRMapping &buffers, SmallVector<Value> &allocated) {
    Value buf = outputBuffer.lookup(result);
    if (!buf) {
      buf = memref::AllocOp::create(b, loc, bufferType(result.getType()),
                                    b.getI64IntegerAttr(64));
      allocated.push_back(result);
    }
    buffers.map(result, buf);
    return buf;
  }

  /// When `red` reduces `prod`'s result over one of its coordinates and
  /// only reads it (`LM[m1,h,p] = QK_T[m1,m0,h,p] :: max(m0)`): for each of
  /// `prod`'s output coordinates, the index of `red` that reads it.
  static std::optional<SmallVector<unsigned>> rowReduction(EinsumOp prod,
                                                           EinsumOp red) {
    if (!red.hasReduction() || red.isRecurrence() ||
        red.getInputs().size() != 1 || red.getInputs()[0] != prod.getResult())
      return std::nullopt;
    Operation *yielded = red.getYieldedOp();
    auto read = yielded ? dyn_cast<ReadOp>(yielded) : ReadOp();
    if (!read || red.getNumLoops() != red.getNumOutputDims() + 1)
      return std::nullopt;
    std::optional<SmallVector<unsigned>> dims = plainIndices(read);
    if (!dims || dims->size() != red.getNumLoops())
      return std::nullopt;
    return dims;
  }

  /// The epilogue of `rowReduction`: combines the tile's rows in registers
  /// and each column vector into `red`'s buffer. Returns false (emitting
  /// nothing) unless the tile's rows are the reduced coordinate and its
  /// columns `red`'s last, contiguous one.
  bool emitRowReduction(OpBuilder &b, EinsumOp red, ArrayRef<unsigned> dims,
                        Value buf, const KernelTile &t) {
    unsigned numOut = red.getNumOutputDims();
    if (dims[t.m] != numOut || dims[t.n] != numOut - 1)
      return false;
    for (int64_t j = 0; j < t.cols; ++j) {
      Value v = t.vectors[j];
      for (int64_t i = 1; i < t.rows; ++i)
        v = BodyEmitter::combine(b, red.getLoc(), red, v,
                                 t.vectors[i * t.cols + j]);
      accumulateInto(b, red, dims, buf, t.at, v, j * t.lanes);
    }
    return true;
  }

  /// Combines `v` (a scalar, or a vector along `red`'s last index) into
  /// `red`'s element read by the producer's point `at`, its last coordinate
  /// moved by `offset`.
  void accumulateInto(OpBuilder &b, EinsumOp red, ArrayRef<unsigned> dims,
                      Value buf, ArrayRef<Value> at, Value v, int64_t offset) {
    Location loc = red.getLoc();
    unsigned numOut = red.getNumOutputDims();
    SmallVector<Value> idx(numOut);
    for (auto [r, d] : llvm::enumerate(dims))
      if (d < numOut)
        idx[d] = at[r];
    if (offset)
      idx[numOut - 1] =
          arith::AddIOp::create(b, loc, idx[numOut - 1],
                                arith::ConstantIndexOp::create(b, loc, offset));
    SmallVector<Value> pos = bufferIndex(b, loc, buf, idx, &layouts);
    Value acc =
        isa<VectorType>(v.getType())
            ? (Value)vector::LoadOp::create(b, loc, v.getType(), buf, pos)
            : (Value)memref::LoadOp::create(b, loc, buf, pos);
    Value sum = BodyEmitter::combine(b, loc, red, acc, v);
    if (isa<VectorType>(v.getType()))
      vector::StoreOp::create(b, loc, sum, buf, pos);
    else
      memref::StoreOp::create(b, loc, sum, buf, pos);
  }

  /// Lowers one einsum into `buf`, within the ranges enclosing fused loops
  /// give its ranks (`bounds`). Inside a fused recurrence group, index 0 is
  /// fixed to the group's step and the recurrence's init copy is left to
  /// the caller. An equation the schedule shapes follows its directives;
  /// the others get the default: a micro-kernel for contractions, else a
  /// nest in chooseLoopOrder's order.
  LogicalResult lowerEinsum(OpBuilder &b, EinsumOp op, Value buf,
                            IRMapping &buffers, const RankBounds &bounds = {},
                            const TileEpilogue &epilogue = nullptr,
                            const PointHook &afterStore = nullptr,
                            const TileStore &tileStore = {}) {
    Value step;
    bool otherBounds = false, kernelBounds = true;
    SmallVector<IndexRange> ranges(op.getNumLoops());
    for (unsigned d = 0; d < op.getNumLoops(); ++d) {
      auto it = bounds.find(LoopSchedule::rankOf(op, d));
      if (it == bounds.end())
        continue;
      const RankBound &rb = it->second;
      if (d == 0 && rb.fixed) {
        step = rb.fixed;
        continue;
      }
      otherBounds = true;
      if (rb.fixed)
        ranges[d] = {rb.fixed, 1};
      else if (rb.size)
        ranges[d] = {rb.lb, rb.size};
      else
        kernelBounds = false; // a remainder tile: no static extent
    }
    bool touched = sched.touches(op);
    BufferRemap remap = [&](OpBuilder &nb, Value v, SmallVector<Value> idx) {
      return bufferIndex(nb, op.getLoc(), v, idx, &layouts);
    };
    // Contractions with a register-tiled kernel write every output element
    // themselves (no identity initialization needed).
    auto tryKernel = [&](ArrayRef<Value> argBuffers) {
      if (op.isRecurrence() || !kernels || touched || !kernelBounds)
        return false;
      // Operands read at constant coordinates are given as views.
      ConstantIndexViews views(b, op, argBuffers, [&](Value buffer) {
        return !layouts.count(buffer);
      });
      return succeeded(lowerContractionKernel(
          // An epilogue reduces across tiles: one thread.
          b, views.einsum(), buf, views.buffers(),
          parallel && !inParallel && !epilogue,
          KernelMachine{registers, l2Bytes, kUnroll}, step, remap,
          otherBounds ? ArrayRef(ranges) : ArrayRef<IndexRange>(), epilogue,
          tileStore));
    };
    if (otherBounds || touched) {
      SmallVector<Value> argBuffers;
      for (Value in : op.getInputs())
        argBuffers.push_back(buffers.lookup(in));
      if (op.isRecurrence())
        argBuffers.push_back(buf);
      if (tryKernel(argBuffers))
        return success();
      if (touched && !otherBounds && !step &&
          succeeded(lowerTiledKernel(b, op, buf, argBuffers, remap)))
        return success();
      if (op.isRecurrence() && !step)
        emitInitCopy(b, op, buf, buffers, bounds);
      return lowerScheduled(b, op, buf, argBuffers, bounds, false, afterStore);
    }
    // `parallel` is the pass option (ODS): outer loops on the thread pool.
    Location loc = op.getLoc();
    ArrayRef<int64_t> extents = op.getExtents();
    std::optional<int64_t> iter = op.getIterative();
    auto shape = cast<RankedTensorType>(op.getResult().getType()).getShape();
    const LayoutMap *lm = &layouts;
    SmallVector<Value> argBuffers;
    for (Value in : op.getInputs())
      argBuffers.push_back(buffers.lookup(in));
    if (iter)
      argBuffers.push_back(buf);

    if (tryKernel(argBuffers))
      return success();
    if (kernels && !touched &&
        succeeded(lowerTransposeKernel(b, op, buf, argBuffers,
                                       parallel && !inParallel,
                                       registers >= 32 ? 16 : 8, remap)))
      return success();

    // Loops over every index but the fixed one.
    auto withoutStep = [&](ArrayRef<unsigned> order) {
      SmallVector<unsigned> out;
      for (unsigned d : order)
        if (!step || d != 0)
          out.push_back(d);
      return out;
    };

    // Recurrence: position 0 of the iterative index is the init tensor.
    if (iter && !step)
      emitInitCopy(b, op, buf, buffers);
    // Reductions accumulate in place: start from the identity.
    if (op.hasReduction()) {
      double id = BodyEmitter::identity(op.getReduction());
      SmallVector<int64_t> lbs(shape.size(), 0);
      if (iter)
        lbs[*iter] = 1;
      Value fixed;
      if (step)
        fixed =
            iter && *iter == 0
                ? (Value)arith::AddIOp::create(
                      b, loc, step, arith::ConstantIndexOp::create(b, loc, 1))
                : step;
      buildNest(
          b, loc, shape, withoutStep(identityOrder(shape.size())),
          [&](OpBuilder &nb, ArrayRef<Value> ivs) {
            Value c = arith::ConstantOp::create(nb, loc,
                                                nb.getF32FloatAttr((float)id));
            storeAt(nb, loc, c, buf, ivs, lm);
          },
          lbs, false, fixed);
    }
    bool ok = true;
    SmallVector<unsigned> order = withoutStep(chooseLoopOrder(op));
    if (!order.empty() && op.isReducedDim(order.back())) {
      // Innermost reduction: accumulate in a register (iter_args) with a
      // reassociable combine, so the loop vectorizes; store once.
      unsigned d = order.back();
      SmallVector<unsigned> outer(order.begin(), order.end() - 1);
      buildNest(
          b, loc, extents, outer,
          [&](OpBuilder &nb, ArrayRef<Value> outerIvs) {
            SmallVector<Value> idx = outputIndex(nb, op, outerIvs);
            Value init = loadAt(nb, loc, buf, idx, lm);
            auto zero = arith::ConstantIndexOp::create(nb, loc, 0);
            auto ub = arith::ConstantIndexOp::create(nb, loc, extents[d]);
            auto one = arith::ConstantIndexOp::create(nb, loc, 1);
            auto loop = scf::ForOp::create(
                nb, loc, zero, ub, one, ValueRange{init},
                [&](OpBuilder &ib, Location, Value iv, ValueRange acc) {
                  SmallVector<Value> ivs(outerIvs);
                  ivs[d] = iv;
                  BodyEmitter emitter(ib, op, ivs, argBuffers, lm);
                  Value v = emitter.emitRegion(op.getBody());
                  if (!v) {
                    ok = false;
                    v = acc[0];
                  } else {
                    v = BodyEmitter::combine(ib, loc, op, acc[0], v,
                                             /*reassoc=*/true);
                  }
                  scf::YieldOp::create(ib, loc, v);
                });
            storeAt(nb, loc, loop.getResult(0), buf, idx, lm);
          },
          {}, parallel && !inParallel && worthParallel(op, order), step);
      return success(ok);
    }
    buildNest(
        b, loc, extents, order,
        [&](OpBuilder &nb, ArrayRef<Value> ivs) {
          BodyEmitter emitter(nb, op, ivs, argBuffers, lm);
          Value v = emitter.emitRegion(op.getBody());
          if (!v) {
            ok = false;
            return;
          }
          SmallVector<Value> idx = outputIndex(nb, op, ivs);
          if (op.hasReduction()) {
            Value acc = loadAt(nb, loc, buf, idx, lm);
            v = BodyEmitter::combine(nb, loc, op, acc, v);
          }
          storeAt(nb, loc, v, buf, idx, lm);
        },
        {}, parallel && !inParallel && worthParallel(op, order), step);
    return success(ok);
  }

  /// A contraction the schedule tiles, as the schedule's tile loops around
  /// its micro-kernel (TiledKernel.h). Fails, emitting nothing, where the
  /// schedule shapes loops inside the tile or no kernel applies; the
  /// caller then builds the scheduled nest.
  LogicalResult lowerTiledKernel(OpBuilder &b, EinsumOp op, Value buf,
                                 ArrayRef<Value> argBuffers,
                                 const BufferRemap &remap) {
    if (!kernels || op.isRecurrence() || userGroupOf(op) || !op.hasReduction())
      return failure();
    unsigned numLoops = op.getNumLoops();
    SmallVector<Value> fixed(numLoops);
    SmallVector<const RankBound *> bound(numLoops, nullptr);
    SmallVector<LoopLevel> levels = scheduledLevels(
        op, sched, chooseLoopOrder(op), fixed, bound, false, inParallel);
    std::string whyNot;
    FailureOr<KernelTiling> tiling = tileAroundKernel(op, levels, whyNot);
    if (failed(tiling))
      return failure();
    return emitTiledKernel(
        b, op.getLoc(), op, *tiling,
        [&](OpBuilder &kb, ArrayRef<IndexRange> ranges, bool par) {
          ConstantIndexViews views(kb, op, argBuffers, [&](Value buffer) {
            return !layouts.count(buffer);
          });
          return lowerContractionKernel(
              kb, views.einsum(), buf, views.buffers(), par,
              KernelMachine{registers, l2Bytes, kUnroll}, Value(), remap,
              ranges);
        });
  }

  /// Recurrence groups: the equations whose first index is the iterative
  /// index m1 of a recurrence (the 1-pass cascade's LM, RM, SLN, SLD, SLNV,
  /// PRM, RD, RNV). When every read among them is at the same step (m1,
  /// or m1+1 of a recurrence) and the rest of the model reads only the
  /// final position of the recurrences, the group runs as one loop over
  /// m1: the per-step tensors shrink to one step and the recurrences to two
  /// positions, so no M x P tensor is materialized.
  SmallVector<SmallVector<EinsumOp>>
  findRecurrenceGroups(ArrayRef<EinsumOp> einsums, func::ReturnOp ret) {
    SmallVector<SmallVector<EinsumOp>> groups;
    llvm::DenseSet<Operation *> grouped;
    for (EinsumOp rec : einsums) {
      if (rec.getIterative() != 0 || grouped.count(rec))
        continue;
      StringRef index = rec.getIndexName(0);
      int64_t extent = rec.getExtents()[0];
      SmallVector<EinsumOp> members;
      for (EinsumOp op : einsums)
        if (op.getNumOutputDims() > 0 && op.getIndexName(0) == index &&
            op.getExtents()[0] == extent &&
            (!op.isRecurrence() || op.getIterative() == 0) &&
            !grouped.count(op))
          members.push_back(op);
      llvm::DenseSet<Value> results;
      for (EinsumOp m : members)
        results.insert(m.getResult());
      auto valid = [&]() {
        for (Value v : ret.getOperands())
          if (results.count(v))
            return false;
        auto first = members.front()->getIterator();
        auto last = members.back()->getIterator();
        for (EinsumOp op : einsums) {
          bool member = llvm::is_contained(members, op);
          bool between = !member && first->isBeforeInBlock(op) &&
                         op->isBeforeInBlock(&*last);
          WalkResult r = op.getBody().walk([&](ReadOp read) {
            auto arg = cast<BlockArgument>(read.getTensor());
            Value t = op.getOperandForArg(arg);
            if (!t)
              return WalkResult::advance(); // a recurrence's own state
            auto producer = t.getDefiningOp<EinsumOp>();
            if (!producer || !results.count(t))
              return WalkResult::advance();
            if (between)
              return WalkResult::interrupt(); // depends on the group
            auto pos = toLinear(read.getMap().getResult(0), op.getNumLoops());
            if (!pos)
              return WalkResult::interrupt();
            bool onlyStep =
                pos->coeffs[0] == 1 &&
                llvm::count(pos->coeffs, 0) + 1 == (int64_t)pos->coeffs.size();
            if (member) {
              bool ok =
                  producer.isRecurrence()
                      ? onlyStep && (pos->constant == 0 || pos->constant == 1)
                      : onlyStep && pos->constant == 0;
              return ok ? WalkResult::advance() : WalkResult::interrupt();
            }
            // After the group: only the final value of a recurrence.
            bool final =
                producer.isRecurrence() &&
                llvm::all_of(pos->coeffs, [](int64_t c) { return c == 0; }) &&
                pos->constant == extent;
            return final ? WalkResult::advance() : WalkResult::interrupt();
          });
          if (r.wasInterrupted())
            return false;
        }
        return true;
      };
      if (members.size() < 2 || !valid())
        continue;
      for (EinsumOp m : members)
        grouped.insert(m);
      groups.push_back(members);
    }
    return groups;
  }

  /// The recurrence's body reads itself only at [m1, same other indices].
  static bool readsOnlyOwnPrevious(EinsumOp rec) {
    bool ok = true;
    rec.getBody().walk([&](ReadOp r) {
      if (rec.getOperandForArg(cast<BlockArgument>(r.getTensor())))
        return;
      for (auto [k, e] : llvm::enumerate(r.getMap().getResults()))
        ok &= e == getAffineDimExpr(k, rec.getContext());
    });
    return ok;
  }

  /// `op` reads `tensor` (a recurrence) only at its current step, m1 + 1.
  static bool readsOnlyCurrent(EinsumOp op, Value tensor) {
    bool ok = true;
    op.getBody().walk([&](ReadOp r) {
      if (op.getOperandForArg(cast<BlockArgument>(r.getTensor())) != tensor)
        return;
      auto pos = toLinear(r.getMap().getResult(0), op.getNumLoops());
      ok &= pos && pos->constant == 1 && pos->coeffs[0] == 1;
    });
    return ok;
  }

  /// Emits a recurrence group as one loop over its first index.
  /// Within a user's fused group (`nested`), inside its shared loops, the
  /// group's buffers live for one iteration of them, and what the group
  /// reads from outside stays for the enclosing group to free.
  LogicalResult lowerGroup(OpBuilder &b, ArrayRef<EinsumOp> members,
                           IRMapping &buffers, SmallVector<Value> &allocated,
                           llvm::DenseMap<Value, Operation *> &lastUse,
                           const RankBounds &bounds, bool nested) {
    Location loc = EinsumOp(members.back()).getLoc();
    for (EinsumOp m : members) {
      auto shape = cast<RankedTensorType>(m.getResult().getType()).getShape();
      SmallVector<int64_t> slice(shape.begin(), shape.end());
      Layout layout;
      if (m.isRecurrence()) {
        // In place (one position) when every element's step reads only its
        // own previous value and the other members read only the new one;
        // else the previous and the current position.
        bool inPlace =
            readsOnlyOwnPrevious(m) &&
            llvm::all_of(members, [&](EinsumOp other) {
              return other == m || readsOnlyCurrent(other, m.getResult());
            });
        slice[0] = inPlace ? 1 : 2;
        (inPlace ? layout.singleFirst : layout.rollingFirst) = true;
      } else {
        slice.erase(slice.begin());
        layout.dropFirst = true;
      }
      // Within shared loops: only the part they select.
      layout.offsets.assign(slice.size(), Value());
      for (unsigned d = 1; d < shape.size(); ++d) {
        auto it = bounds.find(LoopSchedule::rankOf(m, d));
        if (it == bounds.end())
          continue;
        unsigned k = layout.dropFirst ? d - 1 : d;
        if (it->second.fixed) {
          slice[k] = 1;
          layout.offsets[k] = it->second.fixed;
        } else if (it->second.size) {
          slice[k] = it->second.size;
          layout.offsets[k] = it->second.lb;
        }
      }
      Value buf = memref::AllocOp::create(
          b, loc, MemRefType::get(slice, b.getF32Type()),
          b.getI64IntegerAttr(64));
      layouts[buf] = layout;
      buffers.map(m.getResult(), buf);
      if (!nested) // nested: freed at the end of this group
        allocated.push_back(m.getResult());
    }
    for (EinsumOp m : members)
      if (m.isRecurrence())
        emitInitCopy(b, m, buffers.lookup(m.getResult()), buffers, bounds);
    bool ok = true;
    int64_t extent = EinsumOp(members.front()).getExtents()[0];
    // The loop exists before its body is built, so that kernels inside can
    // place work before it (copies of tiles that every step reads).
    auto loop =
        scf::ForOp::create(b, loc, arith::ConstantIndexOp::create(b, loc, 0),
                           arith::ConstantIndexOp::create(b, loc, extent),
                           arith::ConstantIndexOp::create(b, loc, 1));
    {
      OpBuilder fb = OpBuilder::atBlockTerminator(loop.getBody());
      RankBounds inner = bounds;
      inner[LoopSchedule::rankOf(members.front(), 0)] = {
          loop.getInductionVar(), {}, {}};
      for (unsigned i = 0; i < members.size(); ++i) {
        EinsumOp m = members[i];
        // A reduction of the previous member's kernel tile over its rows
        // (the 1-pass cascade's local max) is done in the kernel's
        // epilogue, from registers, instead of as a pass over the tile.
        if (i + 1 < members.size())
          if (auto rows = rowReduction(m, members[i + 1]);
              rows && !sched.touches(m) && !sched.touches(members[i + 1])) {
            EinsumOp red = members[i + 1];
            Value redBuf = buffers.lookup(red.getResult());
            SmallVector<Value> args{buffers.lookup(m.getResult())};
            ok &= succeeded(lowerScheduled(fb, red, redBuf, args, inner,
                                           /*initOnly=*/true));
            bool fused = false;
            TileEpilogue epilogue = [&](OpBuilder &eb, const KernelTile &t) {
              fused |= emitRowReduction(eb, red, *rows, redBuf, t);
            };
            // A producer lowered as a loop nest (the exponentials AV_SLN of
            // the sum AV_SLD) adds each value it stores.
            PointHook afterStore = [&](OpBuilder &eb, ArrayRef<Value> at,
                                       Value v) {
              accumulateInto(eb, red, *rows, redBuf, at, v, 0);
              fused = true;
            };
            ok &= succeeded(lowerEinsum(fb, m, buffers.lookup(m.getResult()),
                                        buffers, inner, epilogue, afterStore));
            if (!fused)
              ok &= succeeded(lowerEinsum(fb, red, redBuf, buffers, inner));
            ++i;
            continue;
          }
        ok &= succeeded(
            lowerEinsum(fb, m, buffers.lookup(m.getResult()), buffers, inner));
      }
    }
    if (nested) {
      // Later equations of the enclosing group read the final values.
      for (EinsumOp m : members)
        nestedBuffers.push_back(buffers.lookup(m.getResult()));
      return success(ok);
    }
    freeGroupBuffers(b, loc, members, buffers, allocated, lastUse);
    return success(ok);
  }

  /// After a fused group: frees the allocated buffers whose last reader is
  /// in the group, and the group's own results that nothing reads.
  static void freeGroupBuffers(OpBuilder &b, Location loc,
                               ArrayRef<EinsumOp> members, IRMapping &buffers,
                               ArrayRef<Value> allocated,
                               llvm::DenseMap<Value, Operation *> &lastUse) {
    llvm::DenseSet<Value> freed;
    auto free = [&](Value v) {
      if (llvm::is_contained(allocated, v) && buffers.lookup(v) &&
          freed.insert(v).second)
        memref::DeallocOp::create(b, loc, buffers.lookup(v));
    };
    for (EinsumOp m : members)
      for (Value in : m->getOperands())
        if (llvm::is_contained(members, lastUse.lookup(in)))
          free(in);
    for (EinsumOp m : members)
      if (!lastUse.count(m.getResult()))
        free(m.getResult());
  }

  /// Copies a recurrence's init tensor into position 0 of its buffer.
  void emitInitCopy(OpBuilder &b, EinsumOp op, Value buf, IRMapping &buffers,
                    const RankBounds &bounds = {}) {
    Location loc = op.getLoc();
    int64_t iter = *op.getIterative();
    auto shape = cast<RankedTensorType>(op.getResult().getType()).getShape();
    std::optional<double> folded = constantInit(op);
    Value init = folded ? Value() : buffers.lookup(op.getInit());
    // One loop per dimension but the iterative one, within the bounds of
    // enclosing fused loops.
    SmallVector<LoopLevel> levels;
    SmallVector<Value> fixed(shape.size() - 1);
    for (unsigned d = 0, k = 0; d < shape.size(); ++d) {
      if ((int64_t)d == iter)
        continue;
      auto it = bounds.find(LoopSchedule::rankOf(op, d));
      if (it != bounds.end() && it->second.fixed) {
        fixed[k++] = it->second.fixed;
        continue;
      }
      LoopLevel l;
      l.dim = k++;
      l.extent = shape[d];
      if (it != bounds.end()) {
        l.lb = it->second.lb;
        l.ub = it->second.ub;
      }
      levels.push_back(l);
    }
    buildLoopNest(b, loc, levels, fixed,
                  [&](OpBuilder &nb, ArrayRef<Value> ivs) {
                    SmallVector<Value> dst(ivs);
                    dst.insert(dst.begin() + iter,
                               arith::ConstantIndexOp::create(nb, loc, 0));
                    Value v = folded ? (Value)arith::ConstantOp::create(
                                           nb, loc, nb.getF32FloatAttr(*folded))
                                     : loadAt(nb, loc, init, ivs, &layouts);
                    storeAt(nb, loc, v, buf, dst, &layouts);
                  });
  }

  /// The constant a recurrence starts from, when its init equation is a
  /// constant that only this recurrence reads (`init RM[0,p] = -inf`): it is
  /// then stored directly and the init tensor is never built.
  static std::optional<double> constantInit(EinsumOp rec) {
    auto init = rec.getInit().getDefiningOp<EinsumOp>();
    if (!init || !init.getResult().hasOneUse() || !init.getInputs().empty())
      return std::nullopt;
    if (auto c = dyn_cast_or_null<ConstOp>(init.getYieldedOp()))
      if (!init.hasReduction())
        return c.getValue().convertToDouble();
    return std::nullopt;
  }

  // --- schedules ------------------------------------------------------------

  /// A tensor computed by an equation that only stores a constant into a
  /// recurrence's position 0 is stored by that recurrence's init copy.
  static bool foldedInit(EinsumOp op) {
    for (Operation *user : op.getResult().getUsers())
      if (auto rec = dyn_cast<EinsumOp>(user))
        if (rec.getInit() == op.getResult() && constantInit(rec))
          return true;
    return false;
  }

  SmallVector<EinsumOp> *groupOf(EinsumOp op) {
    for (auto &g : groups)
      if (llvm::is_contained(g, op))
        return &g;
    return nullptr;
  }

  TiledGroup *tiledGroupOf(EinsumOp op) {
    for (TiledGroup &t : tiled)
      if (llvm::is_contained(t.ops, op))
        return &t;
    return nullptr;
  }

  /// The default heuristic's shared loops for recurrence group `g` (see
  /// the pass description): `g` and the equations that read it (its
  /// tail), inside parallel loops over the ranks they can all share.
  /// None when the schedule shapes any of them, when something else reads
  /// the group, or when no rank can be shared.
  std::optional<TiledGroup> planTiledGroup(ArrayRef<EinsumOp> g,
                                           ArrayRef<EinsumOp> einsums) {
    for (EinsumOp m : g)
      if (sched.touches(m) || userGroupOf(m))
        return std::nullopt;
    TiledGroup t;
    t.ops.assign(g.begin(), g.end());
    llvm::DenseSet<Value> results;
    for (EinsumOp m : g)
      results.insert(m.getResult());
    auto readsAny = [](EinsumOp op, const llvm::DenseSet<Value> &values) {
      return llvm::any_of(op->getOperands(),
                          [&](Value v) { return values.contains(v); });
    };
    auto after = llvm::find(einsums, g.back());
    for (EinsumOp op : llvm::make_range(std::next(after), einsums.end())) {
      if (!readsAny(op, results))
        continue;
      if (op.isRecurrence() || sched.touches(op) || userGroupOf(op) ||
          groupOf(op))
        return std::nullopt;
      t.ops.push_back(op);
    }
    if (t.ops.size() == g.size())
      return std::nullopt; // the group's results are read by nothing
    // The tail runs where its last equation is: nothing between may read it.
    llvm::DenseSet<Value> tailResults;
    for (EinsumOp op : ArrayRef(t.ops).drop_front(g.size()))
      tailResults.insert(op.getResult());
    for (EinsumOp op :
         llvm::make_range(std::next(after), llvm::find(einsums, t.ops.back())))
      if (!llvm::is_contained(t.ops, op) && readsAny(op, tailResults))
        return std::nullopt;
    // Every rank of the last equation's output that all can share: tiled
    // when it is innermost in some equation (the vector lanes), else one
    // index per iteration.
    EinsumOp last = t.ops.back();
    for (unsigned d = 0; d < last.getNumOutputDims(); ++d) {
      std::string rank = LoopSchedule::rankOf(last, d);
      if (!cannotShare(t.ops, rank).empty())
        continue;
      int64_t extent = last.getExtents()[d];
      bool innermost = llvm::any_of(t.ops, [&](EinsumOp op) {
        unsigned n = op.getNumOutputDims();
        return n && LoopSchedule::rankOf(op, n - 1) == rank;
      });
      if (!innermost) {
        t.shared.push_back({rank, LoopSchedule::Part::Whole, extent, 0, true});
        continue;
      }
      for (int64_t tile : {64, 32, 16})
        if (extent > tile && extent % tile == 0) {
          t.shared.push_back(
              {rank, LoopSchedule::Part::Outer, extent, tile, true});
          break;
        }
    }
    if (t.shared.empty())
      return std::nullopt;
    return t;
  }

  SmallVector<EinsumOp> *userGroupOf(EinsumOp op) {
    auto name = op->getAttrOfType<StringAttr>("cascade.fuse");
    if (!name)
      return nullptr;
    auto it = userGroups.find(name.getValue());
    return it == userGroups.end() ? nullptr : &it->second;
  }

  static StringRef groupName(EinsumOp op) {
    auto name = op->getAttrOfType<StringAttr>("cascade.fuse");
    return name ? name.getValue() : StringRef();
  }

  static llvm::MapVector<StringRef, SmallVector<EinsumOp>>
  collectUserGroups(ArrayRef<EinsumOp> einsums) {
    llvm::MapVector<StringRef, SmallVector<EinsumOp>> out;
    for (EinsumOp op : einsums)
      if (StringRef g = groupName(op); !g.empty())
        out[g].push_back(op);
    return out;
  }

  /// A recurrence group runs inside a user's group only whole, and only
  /// when nothing outside that group reads it (its buffers then live for
  /// one iteration of the shared loops).
  void dropStraddlingGroups() {
    llvm::erase_if(groups, [&](SmallVector<EinsumOp> &g) {
      StringRef name = groupName(g.front());
      for (EinsumOp m : g) {
        if (groupName(m) != name)
          return true;
        if (name.empty())
          continue;
        for (Operation *user : m.getResult().getUsers()) {
          auto reader = dyn_cast<EinsumOp>(user);
          if (!reader || groupName(reader) != name)
            return true;
        }
      }
      return false;
    });
  }

  /// Directives that name nothing left after the rewrites say so.
  void warnUnusedDirectives(ArrayRef<EinsumOp> einsums) {
    if (sched.bindLoc)
      emitWarning(*sched.bindLoc)
          << "'bind' maps loops to GPU blocks and threads: it has no effect "
             "on a CPU target";
    for (const auto &entry : sched.orderLocs) {
      StringRef target = entry.getKey();
      bool used = llvm::any_of(einsums, [&](EinsumOp op) {
        return op.getName() == target || groupName(op) == target;
      });
      if (!used)
        emitWarning(entry.getValue())
            << "'order " << target
            << ":' names no equation left after the rewrites";
    }
    for (const auto &entry : sched.fuseLocs)
      if (!llvm::any_of(einsums, [&](EinsumOp op) {
            return groupName(op) == entry.getKey();
          }))
        emitWarning(entry.getValue())
            << "group '" << entry.getKey()
            << "' has no equation left after the rewrites";
  }

  /// Lowers `op` as its schedule says, within `bounds`.
  /// With `initOnly`, emits only a reduction's start from the identity.
  LogicalResult lowerScheduled(OpBuilder &b, EinsumOp op, Value buf,
                               ArrayRef<Value> argBuffers,
                               const RankBounds &bounds, bool initOnly = false,
                               const PointHook &afterStore = nullptr) {
    using Part = LoopSchedule::Part;
    Location loc = op.getLoc();
    unsigned numOut = op.getNumOutputDims(), numLoops = op.getNumLoops();
    std::optional<int64_t> iter = op.getIterative();
    auto shape = cast<RankedTensorType>(op.getResult().getType()).getShape();
    const LayoutMap *lm = &layouts;
    SmallVector<Value> fixed(numLoops);
    SmallVector<const RankBound *> bound(numLoops, nullptr);
    for (unsigned d = 0; d < numLoops; ++d) {
      auto it = bounds.find(LoopSchedule::rankOf(op, d));
      if (it == bounds.end())
        continue;
      bound[d] = &it->second;
      fixed[d] = it->second.fixed;
    }
    // A recurrence that reads other positions of itself than its own
    // previous one needs its iterative loop outside all others.
    bool crossReads = iter && !readsOnlyOwnPrevious(op);

    SmallVector<LoopLevel> levels = scheduledLevels(
        op, sched, chooseLoopOrder(op), fixed, bound, crossReads, inParallel);

    // Reductions start from the identity, over this nest's part of the
    // output (position 0 of a recurrence is its init).
    if (op.hasReduction()) {
      SmallVector<LoopLevel> initLevels;
      SmallVector<Value> initFixed(numOut);
      for (unsigned d = 0; d < numOut; ++d) {
        bool isIter = iter && (int64_t)d == *iter;
        if (fixed[d]) {
          initFixed[d] = isIter ? (Value)arith::AddIOp::create(
                                      b, loc, fixed[d],
                                      arith::ConstantIndexOp::create(b, loc, 1))
                                : fixed[d];
          continue;
        }
        LoopLevel l;
        l.dim = d;
        l.extent = shape[d];
        l.lowerBound = isIter ? 1 : 0;
        if (bound[d]) {
          l.lb = bound[d]->lb;
          l.ub = bound[d]->ub;
        }
        initLevels.push_back(l);
      }
      double id = BodyEmitter::identity(op.getReduction());
      buildLoopNest(b, loc, initLevels, initFixed,
                    [&](OpBuilder &nb, ArrayRef<Value> ivs) {
                      Value c = arith::ConstantOp::create(
                          nb, loc, nb.getF32FloatAttr((float)id));
                      storeAt(nb, loc, c, buf, ivs.take_front(numOut), lm);
                    });
    }
    if (initOnly)
      return success();

    bool ok = true;
    auto point = [&](OpBuilder &nb, ArrayRef<Value> ivs) -> Value {
      BodyEmitter emitter(nb, op, ivs, argBuffers, lm);
      Value v = emitter.emitRegion(op.getBody());
      ok &= (bool)v;
      return v;
    };
    // An innermost reduced loop accumulates in a register (reassociable, so
    // it vectorizes) and stores once.
    if (!levels.empty() && op.isReducedDim(levels.back().dim) &&
        levels.back().part != Part::Outer) {
      Accumulation acc;
      acc.init = [&](OpBuilder &nb, ArrayRef<Value> ivs) {
        return loadAt(nb, loc, buf, outputIndex(nb, op, ivs), lm);
      };
      acc.step = [&](OpBuilder &nb, ArrayRef<Value> ivs, Value sum) -> Value {
        Value v = point(nb, ivs);
        return v ? BodyEmitter::combine(nb, loc, op, sum, v,
                                        /*reassoc=*/true)
                 : sum;
      };
      acc.done = [&](OpBuilder &nb, ArrayRef<Value> ivs, Value sum) {
        storeAt(nb, loc, sum, buf, outputIndex(nb, op, ivs), lm);
      };
      buildLoopNest(b, loc, levels, fixed, nullptr, &acc);
      return success(ok);
    }
    buildLoopNest(b, loc, levels, fixed,
                  [&](OpBuilder &nb, ArrayRef<Value> ivs) {
                    Value v = point(nb, ivs);
                    if (!v)
                      return;
                    SmallVector<Value> idx = outputIndex(nb, op, ivs);
                    if (op.hasReduction())
                      v = BodyEmitter::combine(
                          nb, loc, op, loadAt(nb, loc, buf, idx, lm), v);
                    storeAt(nb, loc, v, buf, idx, lm);
                    if (afterStore && !op.hasReduction() && !iter)
                      afterStore(nb, idx, v);
                  });
    return success(ok);
  }

  /// Why loop `name` cannot enclose every equation of `group` (empty when
  /// it can): each must have its rank as an output index that is not a
  /// recurrence's iterative one, and read what the others compute at the
  /// same index of that rank.
  std::string cannotShare(ArrayRef<EinsumOp> group, StringRef rank) {
    auto dimOf = [&](EinsumOp op) -> std::optional<unsigned> {
      for (unsigned d = 0; d < op.getNumOutputDims(); ++d)
        if (LoopSchedule::rankOf(op, d) == rank)
          return d;
      return std::nullopt;
    };
    for (EinsumOp op : group) {
      if (foldedInit(op))
        continue;
      std::optional<unsigned> d = dimOf(op);
      if (!d)
        return ("'" + op.getName() + "' has no output index over " + rank)
            .str();
      if (op.getIterative() == (int64_t)*d)
        return ("'" + op.getName() + "' iterates over " + rank).str();
      if (op.isRecurrence() && !readsOnlyOwnPrevious(op))
        return ("'" + op.getName() + "' reads other positions of itself").str();
      std::string why;
      op.getBody().walk([&](ReadOp read) {
        Value t = op.getOperandForArg(cast<BlockArgument>(read.getTensor()));
        auto producer = t ? t.getDefiningOp<EinsumOp>() : EinsumOp();
        if (!producer || !llvm::is_contained(group, producer) ||
            foldedInit(producer))
          return;
        std::optional<unsigned> pd = dimOf(producer);
        if (!pd || read.getMap().getResult(*pd) !=
                       getAffineDimExpr(*d, op.getContext()))
          why = ("'" + op.getName() + "' reads '" + producer.getName() +
                 "' at another index of " + rank)
                    .str();
      });
      if (!why.empty())
        return why;
      if (op.isRecurrence())
        if (auto init = op.getInit().getDefiningOp<EinsumOp>();
            init && llvm::is_contained(group, init) && !foldedInit(init)) {
          unsigned k = *d - ((int64_t)*op.getIterative() < (int64_t)*d ? 1 : 0);
          if (k >= (unsigned)init.getNumOutputDims() ||
              LoopSchedule::rankOf(init, k) != rank)
            return ("'" + op.getName() + "' starts from '" + init.getName() +
                    "' at another index of " + rank)
                .str();
        }
    }
    return "";
  }

  /// Nothing outside a group may sit between its equations and read it
  /// (the group runs where its last equation is).
  LogicalResult checkGroupsContiguous() {
    for (auto &[name, group] : userGroups) {
      Location loc = EinsumOp(group.back()).getLoc();
      if (auto it = sched.fuseLocs.find(name); it != sched.fuseLocs.end())
        loc = it->second;
      for (Operation *op = group.front()->getNextNode(); op != group.back();
           op = op->getNextNode()) {
        auto other = dyn_cast<EinsumOp>(op);
        if (!other || groupName(other) == name)
          continue;
        for (Value in : other->getOperands())
          if (auto p = in.getDefiningOp<EinsumOp>(); p && groupName(p) == name)
            return emitError(loc)
                   << "cannot fuse group '" << name << "': '" << other.getName()
                   << "' is not in it but reads '" << p.getName()
                   << "' of it before the group ends";
      }
    }
    return success();
  }

  /// Emits a user's `fuse` group: its shared loops, and inside them each
  /// equation (or recurrence group) of it in turn, on the part of its
  /// output that the shared loops select.
  LogicalResult lowerUserGroup(OpBuilder &b, ArrayRef<EinsumOp> group,
                               llvm::DenseMap<Value, Value> &outputBuffer,
                               IRMapping &buffers,
                               SmallVector<Value> &allocated,
                               llvm::DenseMap<Value, Operation *> &lastUse) {
    using Part = LoopSchedule::Part;
    StringRef name = groupName(group.front());
    Location loc = EinsumOp(group.back()).getLoc();
    if (auto it = sched.fuseLocs.find(name); it != sched.fuseLocs.end())
      loc = it->second;
    // The shared loops: the leading loops of the group's order that every
    // equation can share, else the first rank of the last equation's
    // output that they can.
    SmallVector<SharedLoop> shared;
    auto extentOf = [&](StringRef rank) -> int64_t {
      for (EinsumOp op : group)
        for (unsigned d = 0; d < op.getNumLoops(); ++d)
          if (LoopSchedule::rankOf(op, d) == rank)
            return op.getExtents()[d];
      return 0;
    };
    auto addShared = [&](StringRef loopName) -> std::string {
      auto what = sched.loopOf(loopName);
      if (!what)
        return ("'" + loopName + "' is split: name one of its parts").str();
      auto [rank, part] = *what;
      if (part == Part::Inner &&
          !llvm::any_of(shared, [&, r = rank](const SharedLoop &s) {
            return s.rank == r && s.part == Part::Outer;
          }))
        return "its outer part is not shared";
      if (std::string why = cannotShare(group, rank); !why.empty())
        return why;
      int64_t tile = part == Part::Whole ? 0 : sched.splits[rank].tile;
      // One loop of a nest is parallel: the first the schedule names.
      bool par =
          sched.parallel.contains(loopName) &&
          !llvm::any_of(shared, [](const SharedLoop &s) { return s.parallel; });
      shared.push_back(
          {rank, part, extentOf(rank), std::min(tile, extentOf(rank)), par});
      return "";
    };
    auto it = sched.orders.find(name);
    if (it != sched.orders.end() && !it->second.empty()) {
      for (auto [i, loopName] : llvm::enumerate(it->second)) {
        std::string why = addShared(loopName);
        if (why.empty())
          continue;
        if (i == 0)
          return emitError(sched.orderLocs.at(name))
                 << "loop '" << loopName << "' cannot enclose group '" << name
                 << "': " << why;
        break; // the rest of the order applies inside each equation
      }
    } else {
      EinsumOp last = group.back();
      for (unsigned d = 0; d < last.getNumOutputDims() && shared.empty(); ++d) {
        std::string rank = LoopSchedule::rankOf(last, d);
        auto split = sched.splits.find(rank);
        (void)addShared(split == sched.splits.end() ? rank
                                                    : split->second.outer);
      }
      if (shared.empty())
        return emitError(loc)
               << "cannot fuse group '" << name
               << "': no rank is an output index of each of its equations, "
                  "read at the same index by the others";
    }

    return lowerSharedLoops(b, loc, group, shared, outputBuffer, buffers,
                            allocated, lastUse);
  }

  /// Emits `group` inside `shared` loops (outermost first): each equation
  /// (or recurrence group) of it in turn, on the part of its output that
  /// the shared loops select. Leading parallel loops form one scf.parallel.
  LogicalResult lowerSharedLoops(OpBuilder &b, Location loc,
                                 ArrayRef<EinsumOp> group,
                                 ArrayRef<SharedLoop> shared,
                                 llvm::DenseMap<Value, Value> &outputBuffer,
                                 IRMapping &buffers,
                                 SmallVector<Value> &allocated,
                                 llvm::DenseMap<Value, Operation *> &lastUse) {
    using Part = LoopSchedule::Part;
    // Whole buffers for the group's equations (recurrence groups inside it
    // allocate their own, per iteration of the shared loops).
    for (EinsumOp m : group)
      if (!foldedInit(m) && !groupOf(m))
        mapBuffer(b, m, outputBuffer, buffers, allocated);

    bool ok = true;
    RankBounds bounds;
    bool wasInParallel = inParallel;
    std::function<void(OpBuilder &, unsigned)> level = [&](OpBuilder &nb,
                                                           unsigned depth) {
      if (depth == shared.size()) {
        for (EinsumOp m : group) {
          if (foldedInit(m))
            continue;
          if (SmallVector<EinsumOp> *rec = groupOf(m)) {
            if (m == rec->back())
              ok &= succeeded(lowerGroup(nb, *rec, buffers, allocated, lastUse,
                                         bounds, /*nested=*/true));
            continue;
          }
          ok &= succeeded(lowerEinsum(nb, m, buffers.lookup(m.getResult()),
                                      buffers, bounds));
        }
        for (Value buf : nestedBuffers)
          memref::DeallocOp::create(nb, loc, buf);
        nestedBuffers.clear();
        return;
      }
      // An inner part runs over the tile its outer part bound.
      auto levelOf = [&](const SharedLoop &s) {
        LoopLevel l;
        l.part = s.part;
        l.extent = s.extent;
        l.tile = s.tile;
        if (s.part == Part::Inner) {
          l.part = Part::Whole;
          l.lb = bounds[s.rank].lb;
          l.ub = bounds[s.rank].ub;
        }
        return l;
      };
      auto bind = [&](OpBuilder &ib, const SharedLoop &s, Value iv) {
        if (s.part != Part::Outer) {
          bounds[s.rank] = {iv, {}, {}};
          return;
        }
        LoopLevel tile = levelOf(s);
        tile.part = Part::Inner;
        auto [tlb, tub] = levelBounds(ib, loc, tile, iv);
        bounds[s.rank] = {{}, tlb, tub, s.extent % s.tile == 0 ? s.tile : 0};
      };
      // Consecutive parallel loops (none an inner part, whose bounds come
      // from an enclosing one) become one multi-dimensional scf.parallel.
      unsigned end = depth;
      if (!inParallel)
        while (end < shared.size() && shared[end].parallel &&
               (end == depth || shared[end].part != Part::Inner))
          ++end;
      if (end > depth) {
        SmallVector<Value> lbs, ubs, steps;
        for (unsigned i = depth; i < end; ++i) {
          auto [lb, ub] = levelBounds(nb, loc, levelOf(shared[i]), {});
          lbs.push_back(lb);
          ubs.push_back(ub);
          steps.push_back(arith::ConstantIndexOp::create(nb, loc, 1));
        }
        inParallel = true;
        scf::ParallelOp::create(nb, loc, lbs, ubs, steps,
                                [&](OpBuilder &pb, Location, ValueRange ivs) {
                                  for (unsigned i = depth; i < end; ++i)
                                    bind(pb, shared[i], ivs[i - depth]);
                                  level(pb, end);
                                  scf::ReduceOp::create(pb, loc);
                                });
        return;
      }
      const SharedLoop &s = shared[depth];
      auto [lb, ub] = levelBounds(nb, loc, levelOf(s), {});
      Value one = arith::ConstantIndexOp::create(nb, loc, 1);
      scf::ForOp::create(nb, loc, lb, ub, one, ValueRange{},
                         [&](OpBuilder &fb, Location, Value iv, ValueRange) {
                           bind(fb, s, iv);
                           level(fb, depth + 1);
                           scf::YieldOp::create(fb, loc);
                         });
    };
    level(b, 0);
    inParallel = wasInParallel;

    // Recurrence groups inside freed their own buffers (not in
    // `allocated`); folded inits have none.
    freeGroupBuffers(b, loc, group, buffers, allocated, lastUse);
    return success(ok);
  }

  LoopSchedule sched;
  // Shared-loop plans the default heuristic chose for recurrence groups.
  SmallVector<TiledGroup> tiled;
  bool inParallel = false; // inside a shared scf.parallel: no nested ones
  // Buffers of recurrence groups inside a user's group: freed at the end of
  // one iteration of its shared loops.
  SmallVector<Value> nestedBuffers;
  SmallVector<SmallVector<EinsumOp>> groups;
  llvm::MapVector<StringRef, SmallVector<EinsumOp>> userGroups;
  /// Elementwise equations computed in their producer's kernel stores.
  llvm::DenseSet<Operation *> storeFused;

  LayoutMap layouts;
};

} // namespace
