//===- EinsumBuilder.cpp - Build cascade.einsum ops in code ---------------===//
#include "passes/Utils/EinsumBuilder.h"
#include "dialects/Cascade/IR/Access.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace cascade {

RankedTensorType einsumResultType(MLIRContext *ctx, ArrayRef<int64_t> extents,
                                  unsigned numOutputs,
                                  std::optional<unsigned> iterative) {
  SmallVector<int64_t> shape(extents.take_front(numOutputs));
  if (iterative)
    shape[*iterative] += 1;
  return RankedTensorType::get(shape, Float32Type::get(ctx));
}

EinsumBuilder::EinsumBuilder(OpBuilder &outer, Location loc, StringRef name,
                             ArrayRef<std::string> indices,
                             ArrayRef<int64_t> extents, unsigned numOutputs)
    : outer(outer), body(outer.getContext()), loc(loc), name(name),
      indices(indices), extents(extents), numOutputs(numOutputs),
      block(std::make_unique<Block>()) {
  body.setInsertionPointToEnd(block.get());
}

EinsumBuilder::~EinsumBuilder() = default;

AffineExpr EinsumBuilder::dim(unsigned d) const {
  return getAffineDimExpr(d, outer.getContext());
}
AffineExpr EinsumBuilder::cst(int64_t v) const {
  return getAffineConstantExpr(v, outer.getContext());
}
AffineMap EinsumBuilder::map(ArrayRef<AffineExpr> results) const {
  return AffineMap::get(numLoops(), 0, results, outer.getContext());
}

BlockArgument EinsumBuilder::argFor(Value tensor) {
  for (auto [i, v] : llvm::enumerate(operands))
    if (v == tensor)
      return block->getArgument(i);
  unsigned pos = operands.size();
  operands.push_back(tensor);
  return block->insertArgument(pos, tensor.getType(), loc);
}

Value EinsumBuilder::read(Value tensor, ArrayRef<AffineExpr> index) {
  return ReadOp::create(body, loc, body.getF32Type(), argFor(tensor),
                        map(index));
}

Value EinsumBuilder::readSelf(ArrayRef<AffineExpr> index) {
  return ReadOp::create(body, loc, body.getF32Type(), self, map(index));
}

Value EinsumBuilder::constant(double v) {
  return ConstOp::create(body, loc, body.getF32Type(), body.getF64FloatAttr(v),
                         StringAttr());
}

Value EinsumBuilder::unary(StringRef fn, Value x) {
  return UnaryOp::create(body, loc, body.getF32Type(), fn, x);
}

Value EinsumBuilder::binary(StringRef fn, Value a, Value b) {
  return BinaryOp::create(body, loc, body.getF32Type(), fn, a, b);
}

Value EinsumBuilder::where(StringRef pred, AffineExpr lhs, AffineExpr rhs,
                           function_ref<Value()> then,
                           function_ref<Value()> otherwise) {
  auto op = WhereOp::create(body, loc, body.getF32Type(), pred, map({lhs}),
                            map({rhs}));
  OpBuilder::InsertionGuard guard(body);
  for (auto [region, branch] : {std::pair{&op.getThenRegion(), then},
                                std::pair{&op.getElseRegion(), otherwise}}) {
    body.createBlock(region);
    Value v = branch();
    YieldOp::create(body, loc, v);
  }
  return op;
}

Value EinsumBuilder::cloneExpr(EinsumOp source, Value value,
                               ArrayRef<AffineExpr> dimMap,
                               Substitution substitute) {
  return cloneValue(source, value, dimMap, substitute);
}

Value EinsumBuilder::cloneValue(EinsumOp source, Value value,
                                ArrayRef<AffineExpr> dimMap,
                                const Substitution &substitute) {
  if (substitute)
    if (Value v = substitute(value))
      return v;
  Operation *def = value.getDefiningOp();
  if (auto r = dyn_cast<ReadOp>(def)) {
    auto arg = cast<BlockArgument>(r.getTensor());
    SmallVector<AffineExpr> index;
    for (AffineExpr e : r.getMap().getResults())
      index.push_back(e.replaceDims(dimMap));
    Value outerTensor = source.getOperandForArg(arg);
    return read(outerTensor, index);
  }
  if (auto c = dyn_cast<ConstOp>(def)) // the symbol it was written as too
    return ConstOp::create(body, loc, body.getF32Type(), c.getValueAttr(),
                           c.getSymbolAttr());
  if (auto u = dyn_cast<UnaryOp>(def))
    return unary(u.getFn(),
                 cloneValue(source, u.getOperand(), dimMap, substitute));
  if (auto b = dyn_cast<BinaryOp>(def)) {
    Value lhs = cloneValue(source, b.getLhs(), dimMap, substitute);
    Value rhs = cloneValue(source, b.getRhs(), dimMap, substitute);
    return binary(b.getFn(), lhs, rhs);
  }
  if (auto s = dyn_cast<SelectOp>(def)) {
    SmallVector<Value, 4> ops;
    for (Value x : s->getOperands())
      ops.push_back(cloneValue(source, x, dimMap, substitute));
    return SelectOp::create(body, loc, body.getF32Type(), s.getPredAttr(),
                            ops[0], ops[1], ops[2], ops[3]);
  }
  auto w = cast<WhereOp>(def);
  auto branch = [&](Region &r) {
    return [&, this]() {
      return cloneValue(source,
                        cast<YieldOp>(r.front().getTerminator()).getValue(),
                        dimMap, substitute);
    };
  };
  return where(w.getPred(), w.getLhs().getResult(0).replaceDims(dimMap),
               w.getRhs().getResult(0).replaceDims(dimMap),
               branch(w.getThenRegion()), branch(w.getElseRegion()));
}

void EinsumBuilder::makeRecurrence(unsigned iter, Value initTensor) {
  iterative = iter;
  init = initTensor;
  self = block->addArgument(
      einsumResultType(outer.getContext(), extents, numOutputs, iterative),
      loc);
}

EinsumOp EinsumBuilder::finish(Value result, StringRef reduction) {
  YieldOp::create(body, loc, result);
  SmallVector<StringRef> names(indices.begin(), indices.end());
  auto op = EinsumOp::create(
      outer, loc,
      einsumResultType(outer.getContext(), extents, numOutputs, iterative),
      ValueRange(operands), init, StringRef(name), outer.getStrArrayAttr(names),
      ArrayRef<int64_t>(extents), reduction,
      iterative ? outer.getI64IntegerAttr(*iterative) : IntegerAttr());
  op.getBody().push_back(block.release());
  return op;
}

static void collectNames(func::FuncOp func, llvm::StringSet<> &tensors,
                         llvm::StringSet<> &ranks) {
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    if (auto n = func.getArgAttrOfType<StringAttr>(i, attrs::kName))
      tensors.insert(n.getValue());
    if (auto dims = func.getArgAttrOfType<ArrayAttr>(i, attrs::kDims))
      for (auto d : dims.getAsValueRange<StringAttr>())
        ranks.insert(d);
  }
  func.walk([&](EinsumOp op) {
    tensors.insert(op.getName());
    for (unsigned d = 0; d < op.getNumLoops(); ++d)
      ranks.insert(op.getIndexName(d).upper());
  });
}

static std::string fresh(StringRef base, const llvm::StringSet<> &a,
                         const llvm::StringSet<> &b) {
  std::string name = base.str();
  for (unsigned i = 1; a.contains(name) || b.contains(name); ++i)
    name = (base + "_" + Twine(i)).str();
  return name;
}

std::string freshTensorName(func::FuncOp func, StringRef base) {
  llvm::StringSet<> tensors, ranks;
  collectNames(func, tensors, ranks);
  return fresh(base, tensors, ranks);
}

std::string freshRankName(func::FuncOp func, StringRef base) {
  llvm::StringSet<> tensors, ranks;
  collectNames(func, tensors, ranks);
  return fresh(base, tensors, ranks);
}

} // namespace cascade

namespace cascade {

SmallVector<bool> exprIndices(EinsumOp op, Value value) {
  unsigned n = op.getNumLoops();
  SmallVector<bool> used(n, false);
  auto addExpr = [&](AffineExpr e) {
    if (auto lin = toLinear(e, n))
      for (unsigned d = 0; d < n; ++d)
        used[d] = used[d] || lin->coeffs[d] != 0;
  };
  std::function<void(Value)> visit = [&](Value v) {
    Operation *def = v.getDefiningOp();
    if (auto r = dyn_cast<ReadOp>(def)) {
      for (AffineExpr e : r.getMap().getResults())
        addExpr(e);
      return;
    }
    if (auto w = dyn_cast<WhereOp>(def)) {
      addExpr(w.getLhs().getResult(0));
      addExpr(w.getRhs().getResult(0));
      for (Region *r : {&w.getThenRegion(), &w.getElseRegion()})
        visit(cast<YieldOp>(r->front().getTerminator()).getValue());
      return;
    }
    for (Value operand : def->getOperands())
      visit(operand);
  };
  visit(value);
  return used;
}

SmallVector<bool> mapIndices(ArrayRef<bool> dims, ArrayRef<AffineExpr> dimMap,
                             unsigned numDims) {
  SmallVector<bool> out(numDims, false);
  for (auto [d, used] : llvm::enumerate(dims)) {
    if (!used)
      continue;
    if (auto lin = toLinear(dimMap[d], numDims))
      for (unsigned k = 0; k < numDims; ++k)
        out[k] = out[k] || lin->coeffs[k] != 0;
  }
  return out;
}

void collectFactors(Value value, SmallVectorImpl<Value> &out) {
  if (auto b = value.getDefiningOp<BinaryOp>())
    if (b.getFn() == "mul") {
      collectFactors(b.getLhs(), out);
      collectFactors(b.getRhs(), out);
      return;
    }
  out.push_back(value);
}

} // namespace cascade

namespace cascade {

bool exprEqual(EinsumOp a, Value va, ArrayRef<AffineExpr> mapA, EinsumOp b,
               Value vb, ArrayRef<AffineExpr> mapB, unsigned numDims) {
  auto sameIndex = [&](AffineExpr x, AffineExpr y) {
    auto lx = toLinear(x.replaceDims(mapA), numDims);
    auto ly = toLinear(y.replaceDims(mapB), numDims);
    return lx && ly && lx->coeffs == ly->coeffs && lx->constant == ly->constant;
  };
  Operation *da = va.getDefiningOp(), *db = vb.getDefiningOp();
  if (da->getName() != db->getName())
    return false;
  if (auto ra = dyn_cast<ReadOp>(da)) {
    auto rb = cast<ReadOp>(db);
    Value ta = a.getOperandForArg(cast<BlockArgument>(ra.getTensor()));
    Value tb = b.getOperandForArg(cast<BlockArgument>(rb.getTensor()));
    if (!ta || ta != tb)
      return false;
    for (unsigned r = 0; r < ra.getMap().getNumResults(); ++r)
      if (!sameIndex(ra.getMap().getResult(r), rb.getMap().getResult(r)))
        return false;
    return true;
  }
  if (auto ca = dyn_cast<ConstOp>(da))
    return ca.getValue() == cast<ConstOp>(db).getValue();
  if (auto ua = dyn_cast<UnaryOp>(da))
    return ua.getFn() == cast<UnaryOp>(db).getFn() &&
           exprEqual(a, ua.getOperand(), mapA, b,
                     cast<UnaryOp>(db).getOperand(), mapB, numDims);
  if (auto ba = dyn_cast<BinaryOp>(da)) {
    auto bb = cast<BinaryOp>(db);
    return ba.getFn() == bb.getFn() &&
           exprEqual(a, ba.getLhs(), mapA, b, bb.getLhs(), mapB, numDims) &&
           exprEqual(a, ba.getRhs(), mapA, b, bb.getRhs(), mapB, numDims);
  }
  if (auto sa = dyn_cast<SelectOp>(da)) {
    auto sb = cast<SelectOp>(db);
    if (sa.getPred() != sb.getPred())
      return false;
    for (unsigned i = 0; i < 4; ++i)
      if (!exprEqual(a, sa->getOperand(i), mapA, b, sb->getOperand(i), mapB,
                     numDims))
        return false;
    return true;
  }
  auto wa = cast<WhereOp>(da), wb = cast<WhereOp>(db);
  auto yielded = [](Region &r) {
    return cast<YieldOp>(r.front().getTerminator()).getValue();
  };
  return wa.getPred() == wb.getPred() &&
         sameIndex(wa.getLhs().getResult(0), wb.getLhs().getResult(0)) &&
         sameIndex(wa.getRhs().getResult(0), wb.getRhs().getResult(0)) &&
         exprEqual(a, yielded(wa.getThenRegion()), mapA, b,
                   yielded(wb.getThenRegion()), mapB, numDims) &&
         exprEqual(a, yielded(wa.getElseRegion()), mapA, b,
                   yielded(wb.getElseRegion()), mapB, numDims);
}

void inheritMarks(Operation *replaced, Operation *before) {
  for (llvm::StringRef mark : {kFuseGroupAttr, kCallSiteAttr}) {
    Attribute value = replaced->getAttr(mark);
    if (!value)
      continue;
    Operation *op =
        before ? before->getNextNode() : &replaced->getBlock()->front();
    for (; op && op != replaced; op = op->getNextNode())
      op->setAttr(mark, value);
  }
}

} // namespace cascade
