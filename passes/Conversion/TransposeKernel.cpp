//===- TransposeKernel.cpp - Copies that transpose, in register blocks ----===//
//
// `C[p,n] = T[n,p]` lowered as loops writes C along n and reads T with a
// stride of a whole row per element. This copies lanes x lanes blocks
// instead: lanes vector loads along T's last index, a register transpose,
// lanes vector stores along C's. cascade-orient-contractions makes such
// copies after the transposed contractions it introduces.
//
//===----------------------------------------------------------------------===//
#include "dialects/Cascade/IR/Access.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "passes/Conversion/ContractionKernels.h"

using namespace mlir;

namespace cascade {

void transposeBlock(
    OpBuilder &b, Location loc, int64_t lanes,
    function_ref<Value(OpBuilder &, int64_t)> loadRow,
    function_ref<void(OpBuilder &, int64_t, Value)> storeColumn) {
  // Vector v holds element (v, l) in lane l. Stage k swaps bit k of the
  // vector number with bit k of the lane number, pairing vectors v and
  // v | 2^k with two-input shuffles; after log2(lanes) stages vector c
  // lane r holds row r's element c. LLVM lowers each shuffle to one
  // instruction with AVX-512 (vshufps, vpermt2pd, vshuff64x2,
  // vinsertf64x4): 64 for a 16 x 16 block, where vector.transpose became
  // about 200 permutes and blends. GEMMs with [out, in] weights got 2-4%
  // faster, the BERT layer at seq 128 4% (one thread).
  assert(llvm::isPowerOf2_64(lanes) && "lanes must be a power of two");
  SmallVector<Value> rows;
  for (int64_t r = 0; r < lanes; ++r)
    rows.push_back(loadRow(b, r));
  for (int64_t bit = 1; bit < lanes; bit <<= 1) {
    // Lane l of the low result takes lane l & ~bit from the vector whose
    // bit matches l's (the second shuffle operand's lanes start at lanes);
    // the high result takes lane l | bit.
    SmallVector<int64_t> lowMask, highMask;
    for (int64_t l = 0; l < lanes; ++l) {
      int64_t from = (l & bit) ? lanes : 0;
      lowMask.push_back(from + (l & ~bit));
      highMask.push_back(from + (l | bit));
    }
    for (int64_t v = 0; v < lanes; ++v) {
      if (v & bit)
        continue;
      Value lo = rows[v], hi = rows[v | bit];
      rows[v] = vector::ShuffleOp::create(b, loc, lo, hi, lowMask);
      rows[v | bit] = vector::ShuffleOp::create(b, loc, lo, hi, highMask);
    }
  }
  for (int64_t c = 0; c < lanes; ++c)
    storeColumn(b, c, rows[c]);
}

/// The read of a copy that the transpose kernel takes, and the output
/// index its last coordinate is; none for other equations.
static std::optional<std::pair<ReadOp, unsigned>>
matchTranspose(EinsumOp op, int64_t lanes) {
  unsigned numOut = op.getNumOutputDims();
  if (op.hasReduction() || op.isRecurrence() || numOut < 2 ||
      op.getNumLoops() != numOut)
    return std::nullopt;
  auto read = op.getYieldedValue().getDefiningOp<ReadOp>();
  if (!read || read.getMap().getNumResults() != numOut)
    return std::nullopt;
  // The read's coordinates: a permutation of the output indices.
  std::optional<SmallVector<unsigned>> plain = plainIndices(read);
  if (!plain)
    return std::nullopt;
  unsigned n = numOut - 1, q = plain->back();
  ArrayRef<int64_t> ext = op.getExtents();
  if (q == n || ext[n] % lanes != 0 || ext[q] % lanes != 0)
    return std::nullopt;
  return std::pair{read, q};
}

bool matchesTransposeKernel(EinsumOp op, int64_t lanes) {
  return matchTranspose(op, lanes).has_value();
}

LogicalResult lowerTransposeKernel(OpBuilder &b, EinsumOp op, Value out,
                                   ArrayRef<Value> inputs, bool parallel,
                                   int64_t lanes, const BufferRemap &remap) {
  auto matched = matchTranspose(op, lanes);
  if (!matched)
    return failure();
  ReadOp read = matched->first;
  unsigned q = matched->second;
  SmallVector<unsigned> src = *plainIndices(read);
  unsigned numOut = op.getNumOutputDims(), n = numOut - 1;
  ArrayRef<int64_t> ext = op.getExtents();
  Value in = inputs[cast<BlockArgument>(read.getTensor()).getArgNumber()];
  Location loc = op.getLoc();
  auto cst = [&](OpBuilder &nb, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(nb, loc, v);
  };
  auto place = [&](OpBuilder &nb, Value buf, SmallVector<Value> idx) {
    return remap ? remap(nb, buf, idx) : idx;
  };
  auto vecType = VectorType::get({lanes}, b.getF32Type());

  // Loops: the other indices in output order, then blocks of q and of n.
  SmallVector<unsigned> dims;
  SmallVector<int64_t> steps;
  for (unsigned d = 0; d < numOut; ++d)
    if (d != q && d != n) {
      dims.push_back(d);
      steps.push_back(1);
    }
  for (unsigned d : {q, n}) {
    dims.push_back(d);
    steps.push_back(lanes);
  }
  int64_t elements = 1;
  for (int64_t e : ext)
    elements *= e;
  SmallVector<Value> at(numOut);
  auto block = [&](OpBuilder &nb) {
    Value n0 = at[n], q0 = at[q];
    transposeBlock(
        nb, loc, lanes,
        [&](OpBuilder &rb, int64_t r) -> Value {
          // Row n0 + r of T; `at` keeps n0 for the stores.
          Value row = arith::AddIOp::create(rb, loc, n0, cst(rb, r));
          SmallVector<Value> idx;
          for (unsigned d : src)
            idx.push_back(d == n ? row : at[d]);
          return vector::LoadOp::create(rb, loc, vecType, in,
                                        place(rb, in, idx));
        },
        [&](OpBuilder &cb, int64_t c, Value column) {
          at[q] = arith::AddIOp::create(cb, loc, q0, cst(cb, c));
          vector::StoreOp::create(cb, loc, column, out, place(cb, out, at));
        });
    at[q] = q0;
  };
  std::function<void(OpBuilder &, unsigned)> level = [&](OpBuilder &nb,
                                                         unsigned i) {
    if (i == dims.size())
      return block(nb);
    unsigned d = dims[i];
    auto body = [&](OpBuilder &lb, Value iv) {
      at[d] = iv;
      level(lb, i + 1);
    };
    // The outermost loop on the thread pool when the copy is large.
    if (i == 0 && parallel && elements >= (int64_t(1) << 15)) {
      scf::ParallelOp::create(nb, loc, ValueRange{cst(nb, 0)},
                              ValueRange{cst(nb, ext[d])},
                              ValueRange{cst(nb, steps[i])},
                              [&](OpBuilder &pb, Location, ValueRange ivs) {
                                body(pb, ivs[0]);
                                scf::ReduceOp::create(pb, loc);
                              });
      return;
    }
    scf::ForOp::create(nb, loc, cst(nb, 0), cst(nb, ext[d]), cst(nb, steps[i]),
                       ValueRange{},
                       [&](OpBuilder &fb, Location, Value iv, ValueRange) {
                         body(fb, iv);
                         scf::YieldOp::create(fb, loc);
                       });
  };
  level(b, 0);
  return success();
}

} // namespace cascade
