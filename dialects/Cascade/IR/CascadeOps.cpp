//===- CascadeOps.cpp - Einsum-cascade ops and their verifiers
//-------------===//
#include "dialects/Cascade/IR/CascadeOps.h"
#include "dialects/Cascade/IR/Access.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

#define GET_OP_CLASSES
#include "dialects/Cascade/IR/CascadeOps.cpp.inc"

namespace cascade {

std::string getTensorName(Value tensor) {
  if (auto einsum = tensor.getDefiningOp<EinsumOp>())
    return einsum.getName().str();
  if (auto arg = dyn_cast<BlockArgument>(tensor)) {
    Operation *owner = arg.getOwner()->getParentOp();
    if (auto func = dyn_cast_or_null<func::FuncOp>(owner))
      if (auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                        attrs::kName))
        return name.str();
    if (auto einsum = dyn_cast_or_null<EinsumOp>(owner)) {
      if (Value outer = einsum.getOperandForArg(arg))
        return getTensorName(outer);
      return einsum.getName().str();
    }
  }
  return "<tensor>";
}

bool isUnaryFn(StringRef fn) {
  return llvm::is_contained({"neg", "exp", "log", "sqrt", "rsqrt", "tanh",
                             "erf", "sigmoid", "relu", "silu", "gelu",
                             "gelu_tanh", "abs", "recip", "trunc", "round_f16",
                             "round_bf16"},
                            fn);
}
bool isBinaryFn(StringRef fn) {
  return llvm::is_contained({"add", "sub", "mul", "div", "max", "min", "pow"},
                            fn);
}
bool isReductionKind(StringRef kind) {
  return llvm::is_contained({"add", "max", "min", "mul"}, kind);
}
bool isPredicate(StringRef pred) {
  return llvm::is_contained({"lt", "le", "gt", "ge", "eq", "ne"}, pred);
}

//===----------------------------------------------------------------------===//
// EinsumOp
//===----------------------------------------------------------------------===//

Value EinsumOp::getYieldedValue() {
  return cast<YieldOp>(getBody().front().getTerminator()).getValue();
}

Operation *EinsumOp::getYieldedOp() {
  return getYieldedValue().getDefiningOp();
}

LogicalResult EinsumOp::verify() {
  ArrayRef<int64_t> extents = getExtents();
  if (extents.size() != getNumLoops())
    return emitOpError("has ")
           << getNumLoops() << " indices but " << extents.size() << " extents";
  llvm::StringSet<> seen;
  for (unsigned d = 0; d < getNumLoops(); ++d) {
    if (extents[d] <= 0)
      return emitOpError("index '")
             << getIndexName(d) << "' has a non-positive extent";
    if (!seen.insert(getIndexName(d)).second)
      return emitOpError("index '") << getIndexName(d) << "' appears twice";
  }
  auto type = cast<RankedTensorType>(getResult().getType());
  if (!type.getElementType().isF32())
    return emitOpError("result must be a tensor of f32");
  if (type.getRank() > (int64_t)getNumLoops())
    return emitOpError("result rank exceeds the number of indices");
  std::optional<int64_t> iter = getIterative();
  for (int64_t k = 0; k < type.getRank(); ++k) {
    int64_t want = extents[k] + (iter && *iter == k ? 1 : 0);
    if (type.getDimSize(k) != want)
      return emitOpError("result dimension ")
             << k << " has extent " << type.getDimSize(k) << " but index '"
             << getIndexName(k) << "' needs " << want;
  }
  if (!isReductionKind(getReduction()))
    return emitOpError("unknown reduction '") << getReduction() << "'";
  if (iter) {
    if (*iter < 0 || *iter >= type.getRank())
      return emitOpError("iterative index must be an output index");
    if (!getInit())
      return emitError("recurrence '") << getName() << "' has no init";
    auto initType = cast<RankedTensorType>(getInit().getType());
    SmallVector<int64_t> want(type.getShape());
    want.erase(want.begin() + *iter);
    if (initType.getShape() != ArrayRef<int64_t>(want))
      return emitOpError("init shape must be the result shape without the "
                         "iterative dimension");
  } else if (getInit()) {
    return emitOpError("has an init but no iterative index");
  }
  Block &body = getBody().front();
  unsigned wantArgs = getInputs().size() + (iter ? 1 : 0);
  if (body.getNumArguments() != wantArgs)
    return emitOpError("body must have ") << wantArgs << " arguments";
  for (unsigned i = 0; i < getInputs().size(); ++i)
    if (body.getArgument(i).getType() != getInputs()[i].getType())
      return emitOpError("body argument ") << i << " must match input " << i;
  if (iter && getSelfArg().getType() != type)
    return emitOpError("recurrence body's last argument must have the "
                       "result type");
  return success();
}

LogicalResult EinsumOp::verifyRegions() {
  Block &body = getBody().front();
  if (!isa<YieldOp>(body.getTerminator()))
    return emitOpError("body must end in cascade.yield");
  ArrayRef<int64_t> extents = getExtents();
  SmallVector<StringRef> names;
  for (unsigned d = 0; d < getNumLoops(); ++d)
    names.push_back(getIndexName(d));
  std::optional<int64_t> iter = getIterative();
  WalkResult result = getBody().walk([&](Operation *op) -> WalkResult {
    if (auto where = dyn_cast<WhereOp>(op)) {
      if (where.getLhs().getNumDims() != getNumLoops() ||
          where.getRhs().getNumDims() != getNumLoops())
        return where.emitOpError("maps must range over the ")
               << getNumLoops() << " indices of the einsum";
      return WalkResult::advance();
    }
    auto read = dyn_cast<ReadOp>(op);
    if (!read)
      return WalkResult::advance();
    auto arg = dyn_cast<BlockArgument>(read.getTensor());
    if (!arg || arg.getOwner() != &body)
      return read.emitOpError("must read an argument of the einsum body");
    AffineMap map = read.getMap();
    if (map.getNumDims() != getNumLoops())
      return read.emitOpError("map must range over the ")
             << getNumLoops() << " indices of the einsum";
    auto type = cast<RankedTensorType>(read.getTensor().getType());
    bool isSelf = iter && arg == getSelfArg();
    std::string tensorName = getTensorName(read.getTensor());
    for (unsigned r = 0; r < map.getNumResults(); ++r) {
      AffineExpr e = map.getResult(r);
      if (isSelf && (int64_t)r == *iter) {
        if (e != getAffineDimExpr(*iter, getContext()))
          return read.emitError("recurrence '")
                 << getName() << "' may read itself along its iterative "
                 << "index only at the previous step '" << names[*iter] << "'";
        continue;
      }
      // A plain index must address a dimension at least as long as its
      // extent: the frontend asks for equal extents where the user wrote a
      // plain index, and lets `l + 0` read a prefix. The iterative dimension
      // of a recurrence (extent + 1) holds positions 0..extent.
      auto dim = dyn_cast<AffineDimExpr>(e);
      if (!dim)
        continue;
      int64_t size = type.getDimSize(r), ext = extents[dim.getPosition()];
      bool iterativeDim = false;
      if (isSelf)
        iterativeDim = (int64_t)r == *iter;
      else if (auto producer = getOperandForArg(arg).getDefiningOp<EinsumOp>())
        iterativeDim = producer.getIterative() == (int64_t)r;
      // Under a `where`, the bounds proof below decides: the condition may
      // keep the index inside a shorter dimension (a Concat's parts).
      bool guarded = read->getParentOfType<WhereOp>() != nullptr;
      if (size < ext && !(iterativeDim && size == ext + 1) && !guarded)
        return read.emitError("extent mismatch: index '")
               << names[dim.getPosition()] << "' has extent " << ext
               << " but dimension " << r << " of '" << tensorName
               << "' has extent " << size;
    }
    std::string why;
    if (failed(proveReadInBounds(read, extents, names, why)))
      return read.emitError("read of '")
             << tensorName << "' out of range: " << why;
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

//===----------------------------------------------------------------------===//
// Body ops
//===----------------------------------------------------------------------===//

LogicalResult ReadOp::verify() {
  auto type = cast<RankedTensorType>(getTensor().getType());
  if (getMap().getNumResults() != type.getRank())
    return emitOpError("map has ")
           << getMap().getNumResults() << " results for a tensor of rank "
           << type.getRank();
  if (getMap().getNumSymbols() != 0)
    return emitOpError("map must not have symbols");
  for (AffineExpr e : getMap().getResults())
    if (!toLinear(e, getMap().getNumDims()))
      return emitOpError("index expressions must be linear");
  return success();
}

LogicalResult UnaryOp::verify() {
  if (!isUnaryFn(getFn()))
    return emitOpError("unknown function '") << getFn() << "'";
  return success();
}

LogicalResult BinaryOp::verify() {
  if (!isBinaryFn(getFn()))
    return emitOpError("unknown function '") << getFn() << "'";
  return success();
}

LogicalResult SelectOp::verify() {
  if (!isPredicate(getPred()))
    return emitOpError("unknown predicate '") << getPred() << "'";
  return success();
}

LogicalResult WhereOp::verify() {
  if (!isPredicate(getPred()))
    return emitOpError("unknown predicate '") << getPred() << "'";
  for (AffineMap map : {getLhs(), getRhs()}) {
    if (map.getNumResults() != 1 || map.getNumSymbols() != 0 ||
        !toLinear(map.getResult(0), map.getNumDims()))
      return emitOpError("condition sides must be single linear index "
                         "expressions");
  }
  for (Region *r : {&getThenRegion(), &getElseRegion()})
    if (r->empty() || !isa<YieldOp>(r->front().getTerminator()))
      return emitOpError("branches must end in cascade.yield");
  return success();
}

} // namespace cascade
