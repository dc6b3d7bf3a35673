//===- ConstantIndexViews.cpp - Constant coordinates as views -------------===//
#include "passes/Conversion/ConstantIndexViews.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace cascade {

namespace {
/// The coordinates of `map` that are constants: (position, value).
llvm::SmallVector<std::pair<unsigned, int64_t>>
constantCoordinates(AffineMap map) {
  llvm::SmallVector<std::pair<unsigned, int64_t>> out;
  for (auto [r, e] : llvm::enumerate(map.getResults()))
    if (auto c = dyn_cast<AffineConstantExpr>(e))
      out.push_back({(unsigned)r, c.getValue()});
  return out;
}
} // namespace

ConstantIndexViews::ConstantIndexViews(OpBuilder &b, EinsumOp op,
                                       ArrayRef<Value> buffers,
                                       function_ref<bool(Value)> viewable)
    : original(op), viewBuffers(buffers.begin(), buffers.end()) {
  Block &body = op.getBody().front();
  // For each operand: its constant coordinates, the same in every read.
  llvm::SmallVector<llvm::SmallVector<std::pair<unsigned, int64_t>>> consts(
      op.getInputs().size());
  llvm::SmallVector<bool> ok(op.getInputs().size(), true);
  llvm::SmallVector<bool> seen(op.getInputs().size(), false);
  op.getBody().walk([&](ReadOp read) {
    auto arg = cast<BlockArgument>(read.getTensor());
    unsigned i = arg.getArgNumber();
    if (i >= op.getInputs().size())
      return;
    auto c = constantCoordinates(read.getMap());
    if (!seen[i]) {
      consts[i] = c;
      seen[i] = true;
    } else if (consts[i] != c) {
      ok[i] = false;
    }
  });
  bool any = false;
  for (unsigned i = 0; i < op.getInputs().size(); ++i) {
    auto type = dyn_cast<MemRefType>(buffers[i].getType());
    auto tensor = cast<RankedTensorType>(body.getArgument(i).getType());
    ok[i] = ok[i] && seen[i] && !consts[i].empty() && type &&
            type.getLayout().isIdentity() && type.hasStaticShape() &&
            viewable(buffers[i]) &&
            consts[i].back().first + 1 != (unsigned)tensor.getRank();
    any |= ok[i];
  }
  if (!any)
    return;

  Location loc = op.getLoc();
  view = cast<EinsumOp>(op->clone());
  Block &viewBody = view.getBody().front();
  for (unsigned i = 0; i < op.getInputs().size(); ++i) {
    if (!ok[i])
      continue;
    auto type = cast<MemRefType>(buffers[i].getType());
    SmallVector<int64_t> offsets(type.getRank(), 0), sizes(type.getShape()),
        strides(type.getRank(), 1), reduced;
    for (auto [r, c] : consts[i]) {
      offsets[r] = c;
      sizes[r] = 1;
    }
    for (int64_t r = 0; r < type.getRank(); ++r)
      if (!llvm::any_of(consts[i], [&](auto p) { return p.first == r; }))
        reduced.push_back(type.getDimSize(r));
    auto viewType = memref::SubViewOp::inferRankReducedResultType(
        reduced, type, offsets, sizes, strides);
    auto sub = memref::SubViewOp::create(b, loc, cast<MemRefType>(viewType),
                                         buffers[i], offsets, sizes, strides);
    subviews.push_back(sub);
    viewBuffers[i] = sub;
    // The copy's operand i is the reduced tensor, read without the
    // constant coordinates.
    viewBody.getArgument(i).setType(RankedTensorType::get(
        reduced, cast<RankedTensorType>(viewBody.getArgument(i).getType())
                     .getElementType()));
    view.getBody().walk([&](ReadOp read) {
      if (cast<BlockArgument>(read.getTensor()).getArgNumber() != i)
        return;
      SmallVector<AffineExpr> results;
      for (auto [r, e] : llvm::enumerate(read.getMap().getResults()))
        if (!isa<AffineConstantExpr>(e))
          results.push_back(e);
      read.setMapAttr(AffineMapAttr::get(AffineMap::get(
          read.getMap().getNumDims(), 0, results, op.getContext())));
    });
  }
}

ConstantIndexViews::~ConstantIndexViews() {
  if (view)
    view->erase();
  for (Operation *sub : subviews)
    if (sub->use_empty())
      sub->erase();
}

} // namespace cascade
