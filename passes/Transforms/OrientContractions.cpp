//===- OrientContractions.cpp - Layouts for the CPU kernels --------------===//
//
// The CPU contraction kernels vectorize along the output's last index, and
// read the operand that carries it in rows along that index. When that
// operand is stored the other way (a weight W[n,k], contiguous along the
// reduced k), the kernel transposes it panel by panel on every call. If
// the other operand is much smaller (the activations X[p,k] of a few
// hundred tokens against a 768 x 3072 weight), computing the transposed
// result is cheaper (when a and the result together are at most half of W):
//
//   C[p,n] = X[p,k] * W[n,k]   becomes   C_T[n,p] = X[p,k] * W[n,k]
//                                        C[p,n]   = C_T[n,p]
//
// The kernel then transposes X's panels (or none: AV[h,e,p] is already
// contiguous along p), and one copy puts the result back in place. The
// same holds whatever the sizes when X carries a batch index W lacks (per
// head projections): W's panels are then transposed once, X's would be
// transposed once per head.
//
// Then an operand the kernels would read across its rows (its last
// coordinate is the row index, not a reduced one) is copied once with its
// reduced indices last.
//
//===----------------------------------------------------------------------===//
#include "dialects/Cascade/IR/Access.h"
#include "passes/Conversion/LoopNest.h"
#include "passes/Passes.h"
#include "passes/Utils/EinsumBuilder.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADEORIENTCONTRACTIONS
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;
using namespace cascade;

namespace {

/// The two operands of a contraction the kernels lower: `+`-reduction of
/// two plain reads (times constants); `b` carries the output's last index
/// `n` and `a` does not.
struct Operands {
  ReadOp readA, readB;
  SmallVector<unsigned> a, b; // the index of each coordinate
};

bool uses(ArrayRef<unsigned> dims, unsigned d) {
  return llvm::is_contained(dims, d);
}

/// The names and extents of `op`'s indices `dims`, for a new equation over
/// them.
struct IndexList {
  std::vector<std::string> names;
  SmallVector<int64_t> extents;
};
IndexList indicesOf(EinsumOp op, ArrayRef<unsigned> dims) {
  IndexList list;
  for (unsigned d : dims) {
    list.names.push_back(op.getIndexName(d).str());
    list.extents.push_back(op.getExtents()[d]);
  }
  return list;
}

std::optional<Operands> kernelOperands(EinsumOp op, const LoopSchedule &sched) {
  unsigned numOut = op.getNumOutputDims();
  if (op.isRecurrence() || !op.hasReduction() || op.getReduction() != "add" ||
      numOut < 2 || sched.touches(op) || op->hasAttr(kFuseGroupAttr))
    return std::nullopt;
  SmallVector<Value> factors;
  collectFactors(op.getYieldedValue(), factors);
  SmallVector<std::pair<ReadOp, SmallVector<unsigned>>> reads;
  for (Value f : factors) {
    if (f.getDefiningOp<ConstOp>())
      continue;
    auto read = f.getDefiningOp<ReadOp>();
    if (!read)
      return std::nullopt;
    std::optional<SmallVector<unsigned>> dims =
        plainIndices(read, /*distinct=*/false);
    if (!dims || dims->empty())
      return std::nullopt;
    reads.push_back({read, *dims});
  }
  if (reads.size() != 2)
    return std::nullopt;
  unsigned n = numOut - 1;
  if (uses(reads[0].second, n))
    std::swap(reads[0], reads[1]);
  if (!uses(reads[1].second, n) || uses(reads[0].second, n))
    return std::nullopt;
  return Operands{reads[0].first, reads[1].first, reads[0].second,
                  reads[1].second};
}

/// The output index to move last (`p` above), if `op` is worth orienting.
std::optional<unsigned> indexToMoveLast(EinsumOp op, const LoopSchedule &sched,
                                        int64_t lanes) {
  std::optional<Operands> ops = kernelOperands(op, sched);
  unsigned numOut = op.getNumOutputDims(), n = numOut - 1;
  // b runs along a reduced index (else the kernel reads it in rows along n
  // as it is).
  if (!ops || ops->b.back() < numOut)
    return std::nullopt;
  ArrayRef<unsigned> a = ops->a, b = ops->b;
  // The output indices only a carries; the last of them moves.
  SmallVector<unsigned> aOnly;
  for (unsigned d = 0; d < numOut; ++d)
    if (uses(a, d) && !uses(b, d))
      aOnly.push_back(d);
  ArrayRef<int64_t> ext = op.getExtents();
  if (aOnly.empty() || ext[aOnly.back()] % lanes != 0)
    return std::nullopt;
  unsigned p = aOnly.back();
  auto elements = [&](ArrayRef<unsigned> dims) {
    int64_t count = 1;
    for (unsigned d : dims)
      count *= ext[d];
    return count;
  };
  // b lacks an index a carries besides p (`XQ[h,e,p] = X[p,d] * WQ[h,e,d]`
  // lacks the head h): as written, its panels are transposed again for
  // every value of that index, and only ext[p] rows of a share each. With
  // p last, a's panels are transposed once each and the n rows share them.
  // The copy back is a register-transposing kernel, so n too must be a
  // multiple of the lanes. Measured on BERT-base's query, key and value
  // projections (12 heads of 64): see docs/passes.md.
  if (aOnly.size() >= 2 && ext[n] >= 24 && ext[n] % lanes == 0)
    return p;
  // Elements transposed per call: b's panels as written; a's panels (at
  // most) and the copy of the result when oriented. Measured at BERT-base
  // sizes, orienting wins 10-16% at 128 tokens and loses 7-9% at 512 on
  // the 768 -> 3072 projection, where this ratio is 0.42 and 1.7.
  int64_t result = 1;
  for (unsigned d = 0; d < numOut; ++d)
    result *= ext[d];
  if (2 * (elements(a) + result) > elements(b))
    return std::nullopt;
  return p;
}

void orient(EinsumOp op, unsigned p, func::FuncOp func) {
  OpBuilder b(op);
  Operation *before = op->getPrevNode();
  unsigned numOut = op.getNumOutputDims(), numLoops = op.getNumLoops();
  // The transposed equation's indices: the outputs with p moved last, then
  // the reduced ones.
  SmallVector<unsigned> order;
  for (unsigned d = 0; d < numOut; ++d)
    if (d != p)
      order.push_back(d);
  order.push_back(p);
  for (unsigned d = numOut; d < numLoops; ++d)
    order.push_back(d);
  SmallVector<unsigned> position(numLoops);
  for (auto [i, d] : llvm::enumerate(order))
    position[d] = i;
  IndexList indices = indicesOf(op, order);
  EinsumBuilder transposed(b, op.getLoc(),
                           freshTensorName(func, op.getName().str() + "_T"),
                           indices.names, indices.extents, numOut);
  SmallVector<AffineExpr> dimMap;
  for (unsigned d = 0; d < numLoops; ++d)
    dimMap.push_back(transposed.dim(position[d]));
  EinsumOp t = transposed.finish(
      transposed.cloneExpr(op, op.getYieldedValue(), dimMap), "add");

  // C[outputs] = C_T[outputs with p last]
  auto outputs = llvm::to_vector(llvm::seq<unsigned>(0, numOut));
  IndexList outIndices = indicesOf(op, outputs);
  EinsumBuilder copy(b, op.getLoc(), op.getName(), outIndices.names,
                     outIndices.extents, numOut);
  SmallVector<AffineExpr> at;
  for (unsigned i = 0; i < numOut; ++i)
    at.push_back(copy.dim(order[i]));
  EinsumOp result = copy.finish(copy.read(t.getResult(), at));
  inheritMarks(op, before);
  op.getResult().replaceAllUsesWith(result.getResult());
  op.erase();
}

/// The read of `op` to copy with its reduced indices last, if worth it.
/// The kernels broadcast one element of `a` per row and reduction step; when
/// a's last coordinate is a row index (`AV[h,e,p]` in `AO[p,d] = AV[h,e,p] *
/// WO[d,h,e]`), consecutive steps are a whole tensor row apart, and at
/// power-of-two row lengths those lines fall into a few cache sets. One
/// copy `AV_T[p,h,e]` makes the steps contiguous; it is amortized over the
/// ext[n] columns that read each element.
std::optional<ReadOp> operandToTranspose(EinsumOp op, const LoopSchedule &sched,
                                         int64_t lanes) {
  std::optional<Operands> ops = kernelOperands(op, sched);
  unsigned numOut = op.getNumOutputDims(), numLoops = op.getNumLoops();
  if (!ops || ops->a.back() >= numOut)
    return std::nullopt;
  // Each index once (the copy's coordinates are its indices).
  if (!plainIndices(ops->readA))
    return std::nullopt;
  // The kernels' innermost reduction step is the last reduced index: it
  // becomes the copy's last coordinate.
  if (!uses(ops->a, numLoops - 1))
    return std::nullopt;
  ArrayRef<int64_t> ext = op.getExtents();
  if (ext[ops->a.back()] % lanes != 0 || ext[numLoops - 1] % lanes != 0 ||
      ext[numOut - 1] < 64)
    return std::nullopt;
  return ops->readA;
}

/// Replaces `read` in `op` by a read of a copy of its tensor laid out with
/// the output indices first and the reduced ones last, both in `op`'s order.
void transposeOperand(EinsumOp op, ReadOp read, func::FuncOp func) {
  OpBuilder b(op);
  Operation *before = op->getPrevNode();
  unsigned numOut = op.getNumOutputDims(), numLoops = op.getNumLoops();
  SmallVector<unsigned> dims = *plainIndices(read);
  SmallVector<unsigned> order(dims);
  llvm::sort(order); // output indices come before reduced ones
  // T[order] = tensor[dims], all of the copy's indices outputs.
  Value tensor = op.getOperandForArg(cast<BlockArgument>(read.getTensor()));
  IndexList copyIndices = indicesOf(op, order);
  EinsumBuilder copy(b, op.getLoc(),
                     freshTensorName(func, getTensorName(tensor) + "_T"),
                     copyIndices.names, copyIndices.extents, order.size());
  SmallVector<AffineExpr> at;
  for (unsigned d : dims)
    at.push_back(copy.dim(llvm::find(order, d) - order.begin()));
  EinsumOp t = copy.finish(copy.read(tensor, at));

  // The contraction, reading the copy.
  auto all = llvm::to_vector(llvm::seq<unsigned>(0, numLoops));
  EinsumBuilder rebuilt(b, op.getLoc(), op.getName(), indicesOf(op, all).names,
                        op.getExtents(), numOut);
  SmallVector<AffineExpr> identity, transposedAt;
  for (unsigned d = 0; d < numLoops; ++d)
    identity.push_back(rebuilt.dim(d));
  for (unsigned d : order)
    transposedAt.push_back(rebuilt.dim(d));
  Value body = rebuilt.cloneExpr(
      op, op.getYieldedValue(), identity, [&](Value v) -> Value {
        return v == read.getResult() ? rebuilt.read(t.getResult(), transposedAt)
                                     : Value();
      });
  EinsumOp result = rebuilt.finish(body, op.getReduction());
  inheritMarks(op, before);
  op.getResult().replaceAllUsesWith(result.getResult());
  op.erase();
}

struct OrientContractions
    : public cascade::impl::CascadeOrientContractionsBase<OrientContractions> {
  using CascadeOrientContractionsBase::CascadeOrientContractionsBase;

  void runOnOperation() override {
    if (lanes < 1) {
      getOperation().emitError(
          "cascade-orient-contractions: lanes must be positive");
      return signalPassFailure();
    }
    getOperation().walk([&](func::FuncOp func) {
      LoopSchedule sched = LoopSchedule::fromFunction(func);
      for (EinsumOp op : llvm::to_vector(func.getOps<EinsumOp>()))
        if (std::optional<unsigned> p = indexToMoveLast(op, sched, lanes))
          orient(op, *p, func);
      // The equations as oriented: an operand read across its rows.
      for (EinsumOp op : llvm::to_vector(func.getOps<EinsumOp>()))
        if (std::optional<ReadOp> read = operandToTranspose(op, sched, lanes))
          transposeOperand(op, *read, func);
    });
  }
};

} // namespace
