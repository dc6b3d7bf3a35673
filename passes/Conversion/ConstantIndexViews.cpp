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

/// Per operand of `op`: its constant coordinates when they are the same in
/// every read of it and leave its last dimension (unit stride) free; empty
/// otherwise.
llvm::SmallVector<llvm::SmallVector<std::pair<unsigned, int64_t>>>
viewableOperands(EinsumOp op) {
  Block &body = op.getBody().front();
  unsigned n = op.getInputs().size();
  llvm::SmallVector<llvm::SmallVector<std::pair<unsigned, int64_t>>> consts(n);
  llvm::SmallVector<bool> ok(n, true), seen(n, false);
  op.getBody().walk([&](ReadOp read) {
    unsigned i = cast<BlockArgument>(read.getTensor()).getArgNumber();
    if (i >= n)
      return;
    auto c = constantCoordinates(read.getMap());
    if (!seen[i]) {
      consts[i] = c;
      seen[i] = true;
    } else if (consts[i] != c) {
      ok[i] = false;
    }
  });
  for (unsigned i = 0; i < n; ++i) {
    auto tensor = cast<RankedTensorType>(body.getArgument(i).getType());
    if (!ok[i] || !seen[i] || consts[i].empty() ||
        consts[i].back().first + 1 == (unsigned)tensor.getRank())
      consts[i].clear();
  }
  return consts;
}

/// `shape` without the dimensions at constant coordinates `consts`.
SmallVector<int64_t>
withoutConstants(ArrayRef<int64_t> shape,
                 ArrayRef<std::pair<unsigned, int64_t>> consts) {
  SmallVector<int64_t> reduced;
  for (auto [r, extent] : llvm::enumerate(shape))
    if (!llvm::any_of(consts, [&, r = r](auto p) { return p.first == r; }))
      reduced.push_back(extent);
  return reduced;
}

/// A detached copy of `op` whose operand `i` is the tensor without its
/// constant coordinates `consts[i]` (none: unchanged), read without them.
EinsumOp cloneWithoutConstants(
    EinsumOp op,
    ArrayRef<llvm::SmallVector<std::pair<unsigned, int64_t>>> consts) {
  auto view = cast<EinsumOp>(op->clone());
  for (auto [i, c] : llvm::enumerate(consts)) {
    if (c.empty())
      continue;
    BlockArgument arg = view.getBody().front().getArgument(i);
    auto type = cast<RankedTensorType>(arg.getType());
    arg.setType(RankedTensorType::get(withoutConstants(type.getShape(), c),
                                      type.getElementType()));
    view.getBody().walk([&, i = i](ReadOp read) {
      if (cast<BlockArgument>(read.getTensor()).getArgNumber() != i)
        return;
      SmallVector<AffineExpr> results;
      for (AffineExpr e : read.getMap().getResults())
        if (!isa<AffineConstantExpr>(e))
          results.push_back(e);
      read.setMapAttr(AffineMapAttr::get(AffineMap::get(
          read.getMap().getNumDims(), 0, results, view.getContext())));
    });
  }
  return view;
}
} // namespace

EinsumOp detachedConstantIndexView(EinsumOp op) {
  auto consts = viewableOperands(op);
  if (llvm::all_of(consts, [](const auto &c) { return c.empty(); }))
    return {};
  return cloneWithoutConstants(op, consts);
}

ConstantIndexViews::ConstantIndexViews(OpBuilder &b, EinsumOp op,
                                       ArrayRef<Value> buffers,
                                       function_ref<bool(Value)> viewable)
    : original(op), viewBuffers(buffers.begin(), buffers.end()) {
  auto consts = viewableOperands(op);
  bool any = false;
  for (unsigned i = 0; i < consts.size(); ++i) {
    auto type = dyn_cast<MemRefType>(buffers[i].getType());
    if (!type || !type.getLayout().isIdentity() || !type.hasStaticShape() ||
        !viewable(buffers[i]))
      consts[i].clear();
    any |= !consts[i].empty();
  }
  if (!any)
    return;

  Location loc = op.getLoc();
  for (unsigned i = 0; i < consts.size(); ++i) {
    if (consts[i].empty())
      continue;
    auto type = cast<MemRefType>(buffers[i].getType());
    SmallVector<int64_t> offsets(type.getRank(), 0), sizes(type.getShape()),
        strides(type.getRank(), 1);
    for (auto [r, c] : consts[i]) {
      offsets[r] = c;
      sizes[r] = 1;
    }
    auto viewType = memref::SubViewOp::inferRankReducedResultType(
        withoutConstants(type.getShape(), consts[i]), type, offsets, sizes,
        strides);
    auto sub = memref::SubViewOp::create(b, loc, cast<MemRefType>(viewType),
                                         buffers[i], offsets, sizes, strides);
    subviews.push_back(sub);
    viewBuffers[i] = sub;
  }
  view = cloneWithoutConstants(op, consts);
}

ConstantIndexViews::~ConstantIndexViews() {
  if (view)
    view->erase();
  for (Operation *sub : subviews)
    if (sub->use_empty())
      sub->erase();
}

} // namespace cascade
