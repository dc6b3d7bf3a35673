//===- ContractionKernels.cpp - Register-tiled contractions
//----------------===//
#include "passes/Conversion/ContractionKernels.h"
#include "dialects/Cascade/IR/Access.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "passes/Utils/EinsumBuilder.h"
#include <cmath>

using namespace mlir;

namespace cascade {

namespace {

constexpr int64_t kLanes = 8; // vector<8xf32>: an AVX2 or two NEON registers
constexpr int64_t kWideLanes = 16; // vector<16xf32>: an AVX-512 register

struct Operand {
  ReadOp read;
  SmallVector<unsigned> dims; // the einsum index of each coordinate
  // The coordinates as written: a plain index, or (inside a fused loop)
  // that index plus a multiple of the loop's fixed index 0, m1 * T + m0.
  SmallVector<AffineExpr> exprs;
  Value buffer;      // set when lowering
  bool pack = false; // copy it first so that k is its last index
  bool tile = false; // buffer holds only this kernel's tile, from 0
  bool uses(unsigned d) const { return llvm::is_contained(dims, d); }
};

struct Kernel {
  Operand a, b;                       // a varies along m, b along n
  unsigned m = 0, n = 0, k = 0;       // k: the innermost reduced index
  SmallVector<unsigned> outerReduced; // the other reduced indices
  bool dot = false;                   // both contiguous along k
  bool transB = false;    // broadcast form on b contiguous along k (packed)
  double scale = 1.0;     // the product is multiplied by scale
  int64_t mr = 1, nr = 1; // rows and (vector) columns of the register tile
  int64_t lanes = kLanes; // of each vector: 16 fills an AVX-512 register
};

/// A read whose every coordinate is one index (with coefficient 1), plus,
/// when `fixed0` (index 0 is the step of an enclosing fused loop), any
/// multiple of index 0 and a constant: `K[e, 32*m1 + m0]` with m1 fixed.
std::optional<Operand> plainOperand(Value v, bool fixed0 = false) {
  auto read = v.getDefiningOp<ReadOp>();
  if (!read)
    return std::nullopt;
  Operand o{read, {}, {}, Value(), false};
  unsigned n = read.getMap().getNumDims();
  for (AffineExpr e : read.getMap().getResults()) {
    auto lin = toLinear(e, n);
    if (!lin)
      return std::nullopt;
    std::optional<unsigned> main;
    for (unsigned d = 0; d < n; ++d) {
      if (lin->coeffs[d] == 0 || (fixed0 && d == 0))
        continue;
      if (main || lin->coeffs[d] != 1)
        return std::nullopt;
      main = d;
    }
    bool extra = lin->constant != 0 || (fixed0 && lin->coeffs[0] != 0);
    // A coordinate of the fixed index alone (`SLN[m1, m0, p]`, `RM[m1+1, p]`).
    if (!main && fixed0 && lin->coeffs[0] == 1)
      main = 0;
    if (!main || o.uses(*main) || (extra && !fixed0))
      return std::nullopt;
    o.dims.push_back(*main);
    o.exprs.push_back(e);
  }
  return o;
}

/// The value of a constant expression of a body (`sqrt(64)`, `1 / 8`).
std::optional<double> constantValue(Value v) {
  if (auto c = v.getDefiningOp<ConstOp>())
    return c.getValue().convertToDouble();
  if (auto u = v.getDefiningOp<UnaryOp>()) {
    auto x = constantValue(u.getOperand());
    if (!x)
      return std::nullopt;
    StringRef fn = u.getFn();
    if (fn == "neg")
      return -*x;
    if (fn == "sqrt")
      return std::sqrt(*x);
    if (fn == "rsqrt")
      return 1.0 / std::sqrt(*x);
    if (fn == "recip")
      return 1.0 / *x;
    return std::nullopt;
  }
  if (auto bin = v.getDefiningOp<BinaryOp>()) {
    auto x = constantValue(bin.getLhs()), y = constantValue(bin.getRhs());
    if (!x || !y)
      return std::nullopt;
    StringRef fn = bin.getFn();
    if (fn == "mul")
      return *x * *y;
    if (fn == "div" && *y != 0)
      return *x / *y;
    if (fn == "add")
      return *x + *y;
    if (fn == "sub")
      return *x - *y;
  }
  return std::nullopt;
}

int64_t largestDivisor(int64_t extent, ArrayRef<int64_t> choices) {
  for (int64_t c : choices)
    if (extent % c == 0)
      return c;
  return 1;
}

/// `ext`: the extent of each index in this kernel (part of the range when
/// shared loops restrict it; no packing then).
std::optional<Kernel> match(EinsumOp op, ArrayRef<int64_t> ext,
                            int64_t registers, bool fixed0, bool restricted) {
  bool wide = registers >= 32; // room for 16 accumulators
  unsigned numOut = op.getNumOutputDims(), numLoops = op.getNumLoops();
  if (op.isRecurrence() || op.getReduction() != "add" || numOut == 0 ||
      numLoops == numOut)
    return std::nullopt;
  Kernel kn;
  kn.n = numOut - 1;
  Value v = op.getYieldedOp() ? op.getYieldedOp()->getResult(0) : Value();
  // Constant factors and a constant divisor are applied once to the sum:
  // the body must be (c * x * y) / d with x, y plain reads.
  if (auto bin = v.getDefiningOp<BinaryOp>(); bin && bin.getFn() == "div")
    if (auto d = constantValue(bin.getRhs()); d && *d != 0) {
      kn.scale = 1.0 / *d;
      v = bin.getLhs();
    }
  SmallVector<Value> factors, reads;
  collectFactors(v, factors);
  for (Value f : factors) {
    if (auto c = constantValue(f))
      kn.scale *= *c;
    else
      reads.push_back(f);
  }
  if (reads.size() != 2)
    return std::nullopt;
  auto x = plainOperand(reads[0], fixed0), y = plainOperand(reads[1], fixed0);
  if (!x || !y)
    return std::nullopt;
  // Every reduced index must be read by some operand.
  for (unsigned d = numOut; d < numLoops; ++d)
    if (!x->uses(d) && !y->uses(d))
      return std::nullopt;
  // The row index: an output index only `a` uses (the last such).
  auto rowOf = [&](const Operand &a, const Operand &b,
                   unsigned skip) -> std::optional<unsigned> {
    std::optional<unsigned> row;
    for (unsigned d = fixed0 ? 1 : 0; d < numOut; ++d)
      if (d != skip && a.uses(d) && !b.uses(d))
        row = d;
    return row;
  };
  if (fixed0 && numOut < 3)
    return std::nullopt; // index 0 is fixed: rows and columns come after it
  auto setReduced = [&](unsigned k) {
    kn.k = k;
    kn.outerReduced.clear();
    for (unsigned d = numOut; d < numLoops; ++d)
      if (d != k)
        kn.outerReduced.push_back(d);
  };
  for (auto [a, b] : {std::pair{*x, *y}, std::pair{*y, *x}}) {
    // Broadcast form: b contiguous along n, a independent of n.
    if (b.dims.back() == kn.n && !a.uses(kn.n) && ext[kn.n] % kLanes == 0)
      if (auto row = rowOf(a, b, kn.n)) {
        kn.a = a;
        kn.b = b;
        kn.m = *row;
        kn.dot = false;
        setReduced(numLoops - 1);
        // 32 registers (AVX-512): whole 16-lane registers, 6 x 4 of them.
        int64_t lanes = kn.lanes =
            wide && ext[kn.n] % (2 * kWideLanes) == 0 ? kWideLanes : kLanes;
        kn.nr = wide && ext[kn.n] % (4 * lanes) == 0 ? 4
                : ext[kn.n] % (2 * lanes) == 0       ? 2
                                                     : 1;
        kn.mr = std::min<int64_t>(6, ext[kn.m]); // the last block may be short
        return kn;
      }
  }
  if (fixed0)
    return std::nullopt; // the dot form packs whole operands: not per step
  // Broadcast form on a transposed b (X[p,d] * W[f,d], the layout of
  // weights): b contiguous along the one reduced index k; each panel of b
  // is transposed into a contiguous buffer, reused by every row block.
  // Several reduced indices are allowed when they are b's trailing
  // dimensions in order (W[d,h,e] summed over h and e): the panel holds
  // every reduced position, flattened.
  auto reducedTrail = [&](const Operand &o) {
    unsigned r = numLoops - numOut;
    if (o.dims.size() < r + 1)
      return false;
    for (unsigned i = 0; i < r; ++i)
      if (o.dims[o.dims.size() - r + i] != numOut + i)
        return false;
    return true;
  };
  for (auto [a, b] : {std::pair{*x, *y}, std::pair{*y, *x}}) {
    unsigned k = b.dims.back();
    if (restricted || !reducedTrail(b) || !b.uses(kn.n) || a.uses(kn.n) ||
        ext[kn.n] % kLanes != 0)
      continue;
    auto row = rowOf(a, b, kn.n);
    if (!row || ext[*row] < 24)
      continue; // too few row blocks to pay for the transposition
    kn.a = a;
    kn.b = b;
    kn.m = *row;
    kn.transB = true;
    setReduced(k);
    int64_t lanes = kn.lanes =
        wide && ext[kn.n] % (2 * kWideLanes) == 0 ? kWideLanes : kLanes;
    kn.nr = wide && ext[kn.n] % (4 * lanes) == 0 ? 4
            : ext[kn.n] % (2 * lanes) == 0       ? 2
                                                 : 1;
    kn.mr = 6;
    return kn;
  }
  // Dot form: vector lanes along a reduced index k both operands read; an
  // operand whose last index is not k is packed (copied with k last) first.
  for (auto [a, b] : {std::pair{*x, *y}, std::pair{*y, *x}}) {
    std::optional<unsigned> k;
    for (const Operand *o : {&a, &b})
      if (o->dims.back() >= numOut && a.uses(o->dims.back()) &&
          b.uses(o->dims.back()) && ext[o->dims.back()] % kLanes == 0 && !k)
        k = o->dims.back();
    if (!k)
      continue;
    auto row = rowOf(a, b, numOut);
    if (!row)
      continue;
    auto col = rowOf(b, a, *row);
    if (!col)
      continue;
    if (restricted && (a.dims.back() != *k || b.dims.back() != *k))
      continue; // packs whole operands
    kn.a = a;
    kn.b = b;
    kn.a.pack = a.dims.back() != *k;
    kn.b.pack = b.dims.back() != *k;
    kn.m = *row;
    kn.n = *col;
    kn.dot = true;
    setReduced(*k);
    kn.mr = std::min<int64_t>(4, ext[kn.m]); // the last block may be short
    kn.nr = wide ? largestDivisor(ext[kn.n], {4, 2})
                 : largestDivisor(ext[kn.n], {2});
    return kn;
  }
  return std::nullopt;
}

/// Copies `o` into a new buffer whose dimensions are o's with `k` moved
/// last, and points `o` at it. Returns the buffer (to free after use).
Value pack(OpBuilder &b, Location loc, Operand &o, unsigned k,
           ArrayRef<int64_t> ext) {
  auto srcType = cast<MemRefType>(o.buffer.getType());
  SmallVector<unsigned> dims;
  for (unsigned d : o.dims)
    if (d != k)
      dims.push_back(d);
  dims.push_back(k);
  SmallVector<int64_t> shape;
  for (unsigned d : dims)
    shape.push_back(ext[d]);
  auto type = MemRefType::get(shape, srcType.getElementType());
  Value packed = memref::AllocOp::create(b, loc, type, b.getI64IntegerAttr(64));
  // Destination-ordered loops: contiguous writes, strided reads.
  SmallVector<Value> at(ext.size());
  std::function<void(OpBuilder &, unsigned)> level = [&](OpBuilder &nb,
                                                         unsigned depth) {
    if (depth == dims.size()) {
      SmallVector<Value> src, dst;
      for (unsigned d : o.dims)
        src.push_back(at[d]);
      for (unsigned d : dims)
        dst.push_back(at[d]);
      Value v = memref::LoadOp::create(nb, loc, o.buffer, src);
      memref::StoreOp::create(nb, loc, v, packed, dst);
      return;
    }
    scf::ForOp::create(
        nb, loc, arith::ConstantIndexOp::create(nb, loc, 0),
        arith::ConstantIndexOp::create(nb, loc, ext[dims[depth]]),
        arith::ConstantIndexOp::create(nb, loc, 1), ValueRange{},
        [&](OpBuilder &fb, Location, Value iv, ValueRange) {
          at[dims[depth]] = iv;
          level(fb, depth + 1);
          scf::YieldOp::create(fb, loc);
        });
  };
  level(b, 0);
  o.buffer = packed;
  o.dims = dims;
  return packed;
}

/// Whether `v` is defined inside `op`. Walks up by blocks: the enclosing
/// loops may still be under construction (regions without a parent op).
bool definedIn(Value v, Operation *op) {
  for (Block *block = v.getParentBlock(); block;) {
    Operation *parent = block->getParentOp();
    if (parent == op)
      return true;
    block = parent ? parent->getBlock() : nullptr;
  }
  return false;
}

/// The reduction block (0: none) of a broadcast kernel over extents `ext`.
int64_t reductionBlock(const Kernel &kn, ArrayRef<int64_t> ext, unsigned numOut,
                       bool fixed0, const KernelMachine &machine) {
  // A long reduction can be cut into blocks of kKC (GotoBLAS): each block
  // adds its partial sums to `out`, which starts at zero. That pays when a's
  // rows and one column panel together overflow half of L2 (they are read
  // again for every column block) while one block of them plus the whole
  // output fits: the output is then read and written once per block from
  // L2. Where the output does not fit, every block sweeps it through L3.
  // Measured with a 2 MiB L2 (one thread): 128x3072x768 is 13% faster
  // with kc = 512; blocking 512x768x768, 512x768x3072, 512x3072x768 or
  // 1024^3 (kc = 256, the earlier rule) made them 4-16% slower.
  if (kn.dot || !kn.outerReduced.empty() || kn.scale != 1.0)
    return 0;
  int64_t outElems = 1;
  for (unsigned d = fixed0 ? 1 : 0; d < numOut; ++d)
    outElems *= ext[d];
  int64_t colStep = kn.nr * kn.lanes;
  int64_t budget = machine.l2Bytes / 2, rows = ext[kn.m], k = ext[kn.k];
  auto bytes = [&](int64_t kc) { return 4 * (rows + colStep) * kc; };
  if (bytes(k) > budget)
    for (int64_t kc : {512, 256})
      if (k > kc && bytes(kc) + 4 * outElems <= budget)
        return kc;
  return 0;
}

} // namespace

/// The form of a matched kernel, as the configuration names it.
static KernelForm formOf(const Kernel &kn) {
  return kn.dot      ? KernelForm::Dot
         : kn.transB ? KernelForm::TransposedPanel
                     : KernelForm::Broadcast;
}

std::optional<KernelChoice>
chooseContractionKernel(EinsumOp op, const KernelMachine &machine,
                        ArrayRef<int64_t> extents, bool fixed0,
                        bool restricted) {
  SmallVector<int64_t> ext(extents.empty() ? op.getExtents() : extents);
  std::optional<Kernel> kn =
      match(op, ext, machine.registers, fixed0, restricted);
  if (!kn)
    return std::nullopt;
  KernelChoice c;
  c.form = formOf(*kn);
  c.mr = kn->mr;
  c.nr = kn->nr;
  c.lanes = kn->lanes;
  c.kc = reductionBlock(*kn, ext, op.getNumOutputDims(), fixed0, machine);
  return c;
}

std::string whyKernelChoiceFails(EinsumOp op, const KernelChoice &want,
                                 const KernelMachine &machine,
                                 ArrayRef<int64_t> extents, bool fixed0,
                                 bool restricted) {
  SmallVector<int64_t> ext(extents.empty() ? op.getExtents() : extents);
  std::optional<Kernel> kn =
      match(op, ext, machine.registers, fixed0, restricted);
  if (!kn)
    return "no micro-kernel matches this contraction";
  auto form = [](KernelForm f) { return stringifyKernelForm(f).str(); };
  if (want.form != formOf(*kn))
    return "it matches the " + form(formOf(*kn)) + " kernel, not " +
           form(want.form);
  if (want.lanes != kn->lanes)
    return "its vectors have " + std::to_string(kn->lanes) + " lanes here";
  if (want.mr < 1 || want.mr > 16)
    return "the rows of a register tile are 1 to 16";
  int64_t columns = ext[kn->n];
  int64_t step = kn->dot ? want.nr : want.nr * want.lanes;
  if (want.nr < 1 || want.nr > 8 || columns % step != 0)
    return std::to_string(want.nr) + " vector columns of " +
           std::to_string(kn->dot ? 1 : want.lanes) + " do not divide its " +
           std::to_string(columns) + " columns";
  if (want.kc < 0)
    return "kc must be 0 (no blocks) or positive";
  if (want.kc > 0 && (kn->dot || !kn->outerReduced.empty() || kn->scale != 1.0))
    return "this kernel cannot block its reduction (kc must be 0)";
  return "";
}

LogicalResult lowerContractionKernel(OpBuilder &b, EinsumOp op, Value out,
                                     ArrayRef<Value> inputs, bool parallel,
                                     const KernelMachine &machine, Value step,
                                     const BufferRemap &remap,
                                     ArrayRef<IndexRange> ranges,
                                     const TileEpilogue &epilogue,
                                     const TileStore &tileStore) {
  // Loops run over [0, ext[d]); `base[d]` is added to reach the index.
  SmallVector<int64_t> ext(op.getExtents());
  SmallVector<Value> base(ext.size());
  for (auto [d, r] : llvm::enumerate(ranges))
    if (r.extent) {
      ext[d] = r.extent;
      base[d] = r.base;
    }
  bool restricted = llvm::any_of(base, [](Value v) { return (bool)v; });
  std::optional<Kernel> kn =
      match(op, ext, machine.registers, (bool)step, restricted);
  if (!kn)
    return failure();
  // The configuration's register tile (checked by whyKernelChoiceFails).
  if (machine.mr)
    kn->mr = machine.mr;
  if (machine.nr)
    kn->nr = machine.nr;
  Location loc = op.getLoc();
  unsigned numOut = op.getNumOutputDims();
  auto absolute = [&](OpBuilder &nb, unsigned d, Value v) -> Value {
    return base[d] ? (Value)arith::AddIOp::create(nb, loc, v, base[d]) : v;
  };
  auto absoluteAll = [&](OpBuilder &nb, SmallVector<Value> idx) {
    for (unsigned d = 0; d < idx.size(); ++d)
      idx[d] = absolute(nb, d, idx[d]);
    return idx;
  };
  auto vecType = VectorType::get({kn->lanes}, b.getF32Type());
  // Multiply-adds that LLVM fuses into FMA instructions where the CPU has
  // them (a strict vector.fma would call fmaf() on CPUs without FMA).
  auto contract = arith::FastMathFlagsAttr::get(b.getContext(),
                                                arith::FastMathFlags::contract);
  int64_t colStep = kn->dot ? kn->nr : kn->nr * kn->lanes;

  // Outer loops: the other output indices, then the row and column blocks.
  SmallVector<unsigned> batch;
  for (unsigned d = step ? 1 : 0; d < numOut; ++d)
    if (d != kn->m && d != kn->n)
      batch.push_back(d);
  SmallVector<int64_t> bounds;
  for (unsigned d : batch)
    bounds.push_back(ext[d]);
  // The larger operand (within one iteration of the batch loops) streams
  // from memory once: blocks of it are the outer loop, and the smaller one
  // is re-read from cache for each of them.
  auto elements = [&](const Operand &o) {
    int64_t n = 1;
    for (unsigned d : o.dims)
      if (!llvm::is_contained(batch, d))
        n *= ext[d];
    return n;
  };
  bool columnsOuter = kn->transB || elements(kn->b) >= elements(kn->a);
  // Full row blocks of mr rows, then one short block of the rest.
  int64_t rowBlocks = ext[kn->m] / kn->mr, colBlocks = ext[kn->n] / colStep;
  int64_t rowTail = ext[kn->m] % kn->mr;
  int64_t curMR = kn->mr;
  bounds.push_back(columnsOuter ? colBlocks : rowBlocks);
  bounds.push_back(columnsOuter ? rowBlocks : colBlocks);
  int64_t points = 1;
  for (int64_t e : ext)
    points *= e;
  bool par = parallel && bounds[0] > 1 && points >= (int64_t(1) << 15);
  int64_t kKC = machine.kc >= 0
                    ? machine.kc
                    : reductionBlock(*kn, ext, numOut, (bool)step, machine);
  bool kBlocked = kKC != 0;
  // The register tile holds final sums, one vector per row and column
  // block, only in the broadcast forms without reduction blocks (blocks
  // keep partial sums in the output): only those take an epilogue or a
  // store hook.
  bool finalVectors = !kn->dot && !kBlocked;
  bool hooked = tileStore && finalVectors;
  if (hooked && tileStore.used)
    *tileStore.used = true;
  Value kLo, kHi; // the k range of the current block (kBlocked only)

  auto cst = [&](OpBuilder &nb, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(nb, loc, v);
  };
  kn->a.buffer =
      inputs[cast<BlockArgument>(kn->a.read.getTensor()).getArgNumber()];
  kn->b.buffer =
      inputs[cast<BlockArgument>(kn->b.read.getTensor()).getArgNumber()];
  SmallVector<Value> packed;
  for (Operand *o : {&kn->a, &kn->b})
    if (o->pack)
      packed.push_back(pack(b, loc, *o, kn->k, ext));
  // Coordinates of a read at the point `at` (fixed index 0 included),
  // computed at `ib`'s insertion point.
  auto indices = [&](OpBuilder &ib, const Operand &o, ArrayRef<Value> at) {
    SmallVector<Value> idx;
    for (auto [r, d] : llvm::enumerate(o.dims)) {
      if (o.tile) {
        idx.push_back(at[d]);
        continue;
      }
      if (o.exprs.empty() || isa<AffineDimExpr>(o.exprs[r])) {
        idx.push_back(absolute(ib, d, at[d]));
        continue;
      }
      auto lin = *toLinear(o.exprs[r], op.getNumLoops());
      Value sum = arith::AddIOp::create(
          ib, loc, absolute(ib, d, at[d]),
          arith::ConstantIndexOp::create(ib, loc, lin.constant));
      if (lin.coeffs[0] && d != 0)
        sum = arith::AddIOp::create(
            ib, loc, sum,
            arith::MulIOp::create(
                ib, loc, at[0],
                arith::ConstantIndexOp::create(ib, loc, lin.coeffs[0])));
      idx.push_back(sum);
    }
    return idx;
  };
  auto place = [&](OpBuilder &nb, Value buf, SmallVector<Value> idx) {
    return remap ? remap(nb, buf, idx) : idx;
  };
  // Inside a fused step, an operand read from a whole tensor that the step
  // does not move (Q[h,e,p] in the tile of queries) is copied to a
  // contiguous tile once, before the step loop. Its rows lie a tensor row
  // apart (2 KiB for 512 positions), so the 64 rows of a tile fall into a
  // few cache sets and evict each other on every sweep.
  // Copying a tile in every step costs more than the conflicts it saves
  // (measured on K and V): only tiles that can be copied once.
  auto stepArg = dyn_cast_if_present<BlockArgument>(step);
  Operation *stepLoop = stepArg ? stepArg.getOwner()->getParentOp() : nullptr;
  if (stepLoop && !kn->dot) {
    for (Operand *o : {&kn->a, &kn->b}) {
      auto type = cast<MemRefType>(o->buffer.getType());
      int64_t tileElems = 1;
      bool movesWithStep = false;
      for (auto [r, d] : llvm::enumerate(o->dims)) {
        tileElems *= ext[d];
        movesWithStep |=
            d == 0 || (!o->exprs.empty() &&
                       toLinear(o->exprs[r], op.getNumLoops())->coeffs[0] != 0);
      }
      bool baseInLoop = llvm::any_of(o->dims, [&](unsigned d) {
        return base[d] && definedIn(base[d], stepLoop);
      });
      if (movesWithStep || baseInLoop || !type.hasStaticShape() ||
          type.getNumElements() <= tileElems)
        continue;
      OpBuilder pb(stepLoop);
      SmallVector<int64_t> shape;
      for (unsigned d : o->dims)
        shape.push_back(ext[d]);
      Value tile = memref::AllocOp::create(
          pb, loc, MemRefType::get(shape, type.getElementType()),
          pb.getI64IntegerAttr(64));
      // Row-major copy loops; the last dimension by vectors when it allows.
      int64_t last = ext[o->dims.back()];
      int64_t width = last % kn->lanes == 0 ? kn->lanes : 1;
      SmallVector<Value> at(ext.size());
      std::function<void(OpBuilder &, unsigned)> copy = [&](OpBuilder &cb,
                                                            unsigned r) {
        unsigned d = o->dims[r];
        bool inner = r + 1 == o->dims.size();
        scf::ForOp::create(
            cb, loc, cst(cb, 0), cst(cb, ext[d]), cst(cb, inner ? width : 1),
            ValueRange{}, [&](OpBuilder &lb, Location, Value iv, ValueRange) {
              at[d] = iv;
              if (!inner) {
                copy(lb, r + 1);
              } else {
                SmallVector<Value> src =
                    place(lb, o->buffer, indices(lb, *o, at));
                SmallVector<Value> dst;
                for (unsigned dd : o->dims)
                  dst.push_back(at[dd]);
                if (width > 1)
                  vector::StoreOp::create(
                      lb, loc,
                      vector::LoadOp::create(
                          lb, loc,
                          VectorType::get({width}, type.getElementType()),
                          o->buffer, src),
                      tile, dst);
                else
                  memref::StoreOp::create(
                      lb, loc, memref::LoadOp::create(lb, loc, o->buffer, src),
                      tile, dst);
              }
              scf::YieldOp::create(lb, loc);
            });
      };
      copy(pb, 0);
      OpBuilder after(b.getContext());
      after.setInsertionPointAfter(stepLoop);
      memref::DeallocOp::create(after, loc, tile);
      o->buffer = tile;
      o->tile = true;
    }
  }
  Value inA = kn->a.buffer, inB = kn->b.buffer;
  // The output element at loop position `idx`.
  auto placeOut = [&](OpBuilder &nb, SmallVector<Value> idx) {
    return place(nb, out, absoluteAll(nb, idx));
  };

  // B panel packing (GotoBLAS): when the column blocks are the outer loop
  // and B's rows are longer than one block, each column block's panel of B
  // (the k range of this sweep x the block's columns) is copied to a
  // contiguous buffer first, so the row blocks that reuse it stream it
  // without a TLB miss or cache-set conflict per row.
  bool packB =
      kn->transB || (!kn->dot && !step && kn->outerReduced.empty() &&
                     columnsOuter && rowBlocks >= 4 && ext[kn->n] > colStep);
  int64_t panelRows = kBlocked ? kKC : ext[kn->k];
  if (kn->transB)
    for (unsigned d : kn->outerReduced)
      panelRows *= ext[d];
  // The panel row of the reduced position `pos` (transposed panels hold
  // every outer reduced position too, flattened before k).
  auto panelRow = [&](OpBuilder &pb, ArrayRef<Value> pos, Value lo) {
    Value row = arith::SubIOp::create(pb, loc, pos[kn->k], lo);
    if (!kn->transB)
      return row;
    int64_t stride = ext[kn->k];
    for (unsigned d : llvm::reverse(kn->outerReduced)) {
      row = arith::AddIOp::create(
          pb, loc, row,
          arith::MulIOp::create(pb, loc, pos[d], cst(pb, stride)));
      stride *= ext[d];
    }
    return row;
  };
  Value packedB;
  auto packPanel = [&](OpBuilder &pb, SmallVector<Value> &at) -> Value {
    auto panelType = MemRefType::get({panelRows, colStep}, pb.getF32Type());
    Value panel =
        memref::AllocOp::create(pb, loc, panelType, pb.getI64IntegerAttr(64));
    Value lo = kBlocked ? kLo : cst(pb, 0);
    Value hi = kBlocked ? kHi : cst(pb, ext[kn->k]);
    // 16 x 16 blocks of a transposed b (AVX-512): 16 row loads along k, a
    // register transpose (transposeBlock: 64 shuffles), 16 row stores along
    // n; instead of 256 scalar loads and stores. Every k block is a
    // multiple of 16 long when the extent is (kKC is).
    bool blocks16 = kn->transB && kn->lanes == 16 && ext[kn->k] % 16 == 0 &&
                    colStep % 16 == 0;
    // With blocks, the group of 16 columns (16 rows of b) is the outermost
    // loop: each of those rows is then read from start to end, 16 streams
    // the hardware prefetcher follows. With k outermost, each step read one
    // line of each of the panel's 64 rows, more streams than it tracks
    // (the output projection of the BERT layer: 2-4% fewer cycles now).
    Value j0;
    // The panel rows of one outer reduced position (`outer`), all of k.
    auto fill = [&](OpBuilder &fb0, SmallVector<Value> &outer) {
      scf::ForOp::create(
          fb0, loc, lo, hi, cst(fb0, blocks16 ? 16 : 1), ValueRange{},
          [&](OpBuilder &kb, Location, Value k, ValueRange) {
            SmallVector<Value> pos(outer);
            pos[kn->k] = k;
            Value row = panelRow(kb, pos, lo);
            if (blocks16) {
              Value n0 = arith::AddIOp::create(kb, loc, at[kn->n], j0);
              transposeBlock(
                  kb, loc, 16,
                  [&](OpBuilder &rb, int64_t r) -> Value {
                    pos[kn->n] = arith::AddIOp::create(rb, loc, n0, cst(rb, r));
                    return vector::LoadOp::create(
                        rb, loc, vecType, inB,
                        place(rb, inB, indices(rb, kn->b, pos)));
                  },
                  [&](OpBuilder &cb, int64_t c, Value column) {
                    Value dst = arith::AddIOp::create(cb, loc, row, cst(cb, c));
                    vector::StoreOp::create(cb, loc, column, panel,
                                            ValueRange{dst, j0});
                  });
            } else if (kn->transB) {
              // panel[row, j] = b[n0 + j, ..., k]: contiguous writes; the
              // reads touch colStep rows of b, whose cache lines serve 16
              // steps of k.
              scf::ForOp::create(
                  kb, loc, cst(kb, 0), cst(kb, colStep), cst(kb, 1),
                  ValueRange{},
                  [&](OpBuilder &fb, Location, Value j, ValueRange) {
                    pos[kn->n] = arith::AddIOp::create(fb, loc, at[kn->n], j);
                    Value v = memref::LoadOp::create(
                        fb, loc, inB, place(fb, inB, indices(fb, kn->b, pos)));
                    memref::StoreOp::create(fb, loc, v, panel,
                                            ValueRange{row, j});
                    scf::YieldOp::create(fb, loc);
                  });
            } else {
              // Rows of b longer than a page get no hardware prefetch: each
              // of this panel's lines would be a miss to memory. Prefetch
              // the next column block's line of this row instead, which
              // arrives while this block computes (the blocks of one
              // thread are consecutive).
              SmallVector<Value> next(pos);
              next[kn->n] = arith::MinSIOp::create(
                  kb, loc,
                  arith::AddIOp::create(kb, loc, at[kn->n], cst(kb, colStep)),
                  cst(kb, ext[kn->n] - 1));
              memref::PrefetchOp::create(kb, loc, inB,
                                         place(kb, inB, indices(kb, kn->b, next)),
                                         /*isWrite=*/false, /*locality=*/3,
                                         /*isDataCache=*/true);
              for (int64_t j = 0; j < kn->nr; ++j) {
                pos[kn->n] = arith::AddIOp::create(kb, loc, at[kn->n],
                                                   cst(kb, j * kn->lanes));
                Value v = vector::LoadOp::create(
                    kb, loc, vecType, inB,
                    place(kb, inB, indices(kb, kn->b, pos)));
                vector::StoreOp::create(
                    kb, loc, v, panel, ValueRange{row, cst(kb, j * kn->lanes)});
              }
            }
            scf::YieldOp::create(kb, loc);
          });
    };
    // Transposed panels hold every outer reduced position: loops over them.
    std::function<void(OpBuilder &, unsigned, SmallVector<Value> &)> outer =
        [&](OpBuilder &ob, unsigned i, SmallVector<Value> &pos) {
          if (!kn->transB || i == kn->outerReduced.size())
            return fill(ob, pos);
          unsigned d = kn->outerReduced[i];
          scf::ForOp::create(
              ob, loc, cst(ob, 0), cst(ob, ext[d]), cst(ob, 1), ValueRange{},
              [&](OpBuilder &lb, Location, Value iv, ValueRange) {
                pos[d] = iv;
                outer(lb, i + 1, pos);
                scf::YieldOp::create(lb, loc);
              });
        };
    SmallVector<Value> pos(at);
    if (blocks16) {
      // A loop over the column groups, not unrolled: each transpose is
      // about 100 operations, and compile time grows with each copy.
      scf::ForOp::create(pb, loc, cst(pb, 0), cst(pb, colStep), cst(pb, 16),
                         ValueRange{},
                         [&](OpBuilder &jb, Location, Value iv, ValueRange) {
                           j0 = iv;
                           outer(jb, 0, pos);
                           scf::YieldOp::create(jb, loc);
                         });
      return panel;
    }
    outer(pb, 0, pos);
    return panel;
  };

  SmallVector<scf::ForOp> kLoops;
  std::function<void(OpBuilder &, unsigned, SmallVector<Value> &)> level =
      [&](OpBuilder &nb, unsigned depth, SmallVector<Value> &at) {
        if (depth < bounds.size()) {
          auto body = [&](OpBuilder &ib, Value iv) {
            bool columns = false;
            if (depth < batch.size()) {
              at[batch[depth]] = iv;
            } else if ((depth == batch.size()) == columnsOuter) {
              at[kn->n] = arith::MulIOp::create(ib, loc, iv, cst(ib, colStep));
              columns = packB;
            } else {
              at[kn->m] = arith::MulIOp::create(ib, loc, iv, cst(ib, kn->mr));
            }
            if (columns)
              packedB = packPanel(ib, at);
            level(ib, depth + 1, at);
            if (columns) {
              memref::DeallocOp::create(ib, loc, packedB);
              packedB = {};
            }
          };
          bool rows =
              depth >= batch.size() && (depth == batch.size()) != columnsOuter;
          if (bounds[depth] == 0) {
            // No full row block: only the short one below.
          } else if (depth == 0 && par) {
            scf::ParallelOp::create(
                nb, loc, ValueRange{cst(nb, 0)}, ValueRange{cst(nb, bounds[0])},
                ValueRange{cst(nb, 1)},
                [&](OpBuilder &pb, Location, ValueRange ivs) {
                  body(pb, ivs[0]);
                  scf::ReduceOp::create(pb, loc);
                });
          } else {
            scf::ForOp::create(
                nb, loc, cst(nb, 0), cst(nb, bounds[depth]), cst(nb, 1),
                ValueRange{},
                [&](OpBuilder &fb, Location, Value iv, ValueRange) {
                  body(fb, iv);
                  scf::YieldOp::create(fb, loc);
                });
          }
          if (rows && rowTail) {
            at[kn->m] = cst(nb, rowBlocks * kn->mr);
            curMR = rowTail;
            level(nb, depth + 1, at);
            curMR = kn->mr;
          }
          return;
        }
        // The register tile.
        Value m0 = at[kn->m], n0 = at[kn->n];
        int64_t tiles = curMR * kn->nr;
        Value zero = arith::ConstantOp::create(
            nb, loc, DenseElementsAttr::get(vecType, 0.0f));
        SmallVector<Value> init(tiles, zero);
        if (kBlocked) {
          // Continue from the partial sums of the previous k blocks.
          SmallVector<Value> outAt(at.begin(), at.begin() + numOut);
          for (int64_t i = 0; i < curMR; ++i)
            for (int64_t j = 0; j < kn->nr; ++j) {
              outAt[kn->m] = arith::AddIOp::create(nb, loc, m0, cst(nb, i));
              outAt[kn->n] =
                  arith::AddIOp::create(nb, loc, n0, cst(nb, j * kn->lanes));
              init[i * kn->nr + j] = vector::LoadOp::create(
                  nb, loc, vecType, out, placeOut(nb, outAt));
            }
        }
        int64_t kStep = kn->dot ? kn->lanes : 1;
        // The reduction: the other reduced indices outside, k innermost, the
        // accumulators carried through every loop.
        auto tileStep = [&](OpBuilder &kb, SmallVector<Value> &pos,
                            ValueRange acc) {
          SmallVector<Value> next(acc.begin(), acc.end());
          SmallVector<Value> av, bv;
          for (int64_t i = 0; i < curMR; ++i) {
            pos[kn->m] = arith::AddIOp::create(kb, loc, m0, cst(kb, i));
            if (kn->dot)
              av.push_back(vector::LoadOp::create(
                  kb, loc, vecType, inA,
                  place(kb, inA, indices(kb, kn->a, pos))));
            else
              av.push_back(vector::BroadcastOp::create(
                  kb, loc, vecType,
                  memref::LoadOp::create(
                      kb, loc, inA, place(kb, inA, indices(kb, kn->a, pos)))));
          }
          pos[kn->m] = m0;
          for (int64_t j = 0; j < kn->nr; ++j) {
            if (packedB) {
              Value row = panelRow(kb, pos, kBlocked ? kLo : cst(kb, 0));
              bv.push_back(vector::LoadOp::create(
                  kb, loc, vecType, packedB,
                  ValueRange{row, cst(kb, j * kn->lanes)}));
              continue;
            }
            pos[kn->n] = arith::AddIOp::create(
                kb, loc, n0, cst(kb, kn->dot ? j : j * kn->lanes));
            bv.push_back(vector::LoadOp::create(
                kb, loc, vecType, inB,
                place(kb, inB, indices(kb, kn->b, pos))));
          }
          pos[kn->n] = n0;
          for (int64_t i = 0; i < curMR; ++i)
            for (int64_t j = 0; j < kn->nr; ++j)
              next[i * kn->nr + j] = arith::AddFOp::create(
                  kb, loc,
                  arith::MulFOp::create(kb, loc, av[i], bv[j], contract),
                  next[i * kn->nr + j], contract);
          return next;
        };
        SmallVector<unsigned> reduced(kn->outerReduced);
        reduced.push_back(kn->k);
        std::function<SmallVector<Value>(OpBuilder &, unsigned,
                                         SmallVector<Value> &, ValueRange)>
            reduce = [&](OpBuilder &rb, unsigned depth, SmallVector<Value> &pos,
                         ValueRange acc) -> SmallVector<Value> {
          unsigned d = reduced[depth];
          bool last = depth + 1 == reduced.size();
          auto loop = scf::ForOp::create(
              rb, loc, kBlocked && last ? kLo : cst(rb, 0),
              kBlocked && last ? kHi : cst(rb, ext[d]),
              cst(rb, last ? kStep : 1), acc,
              [&](OpBuilder &kb, Location, Value iv, ValueRange inner) {
                pos[d] = iv;
                SmallVector<Value> next =
                    last ? tileStep(kb, pos, inner)
                         : reduce(kb, depth + 1, pos, inner);
                scf::YieldOp::create(kb, loc, next);
              });
          if (last && !kn->dot)
            kLoops.push_back(loop);
          return SmallVector<Value>(loop.getResults());
        };
        SmallVector<Value> pos(at);
        SmallVector<Value> sums = reduce(nb, 0, pos, init);
        // Store the tile (scaled once).
        SmallVector<Value> outAt(at.begin(), at.begin() + numOut);
        SmallVector<Value> stored;
        for (int64_t i = 0; i < curMR; ++i)
          for (int64_t j = 0; j < kn->nr; ++j) {
            Value acc = sums[i * kn->nr + j];
            outAt[kn->m] = arith::AddIOp::create(nb, loc, m0, cst(nb, i));
            outAt[kn->n] = arith::AddIOp::create(
                nb, loc, n0, cst(nb, kn->dot ? j : j * kn->lanes));
            if (kn->dot) {
              Value s = vector::ReductionOp::create(
                  nb, loc, vector::CombiningKind::ADD, acc,
                  arith::FastMathFlags::reassoc);
              if (kn->scale != 1.0)
                s = arith::MulFOp::create(
                    nb, loc, s,
                    arith::ConstantOp::create(
                        nb, loc, nb.getF32FloatAttr((float)kn->scale)));
              memref::StoreOp::create(nb, loc, s, out, placeOut(nb, outAt));
            } else {
              if (kn->scale != 1.0)
                acc = arith::MulFOp::create(
                    nb, loc, acc,
                    arith::ConstantOp::create(
                        nb, loc,
                        DenseElementsAttr::get(vecType, (float)kn->scale)));
              if (hooked)
                tileStore.store(nb, absoluteAll(nb, outAt), acc);
              else
                vector::StoreOp::create(nb, loc, acc, out, placeOut(nb, outAt));
              stored.push_back(acc);
            }
          }
        if (epilogue && finalVectors) {
          SmallVector<Value> origin = absoluteAll(
              nb, SmallVector<Value>(at.begin(), at.begin() + numOut));
          epilogue(nb, KernelTile{kn->m, kn->n, curMR, kn->nr, kn->lanes,
                                  stored, origin});
        }
      };
  SmallVector<Value> at(op.getNumLoops());
  if (step)
    at[0] = step;
  if (!kBlocked) {
    level(b, 0, at);
  } else {
    // out = 0, then one sweep per k block.
    SmallVector<Value> outAt(numOut);
    if (step)
      outAt[0] = step;
    std::function<void(OpBuilder &, unsigned)> zeroFill = [&](OpBuilder &zb,
                                                              unsigned d) {
      if (d == numOut) {
        memref::StoreOp::create(
            zb, loc,
            arith::ConstantOp::create(zb, loc, zb.getF32FloatAttr(0.0f)), out,
            placeOut(zb, outAt));
        return;
      }
      if (d == 0 && step)
        return zeroFill(zb, 1);
      scf::ForOp::create(zb, loc, cst(zb, 0), cst(zb, ext[d]), cst(zb, 1),
                         ValueRange{},
                         [&](OpBuilder &fb, Location, Value iv, ValueRange) {
                           outAt[d] = iv;
                           zeroFill(fb, d + 1);
                           scf::YieldOp::create(fb, loc);
                         });
    };
    zeroFill(b, 0);
    int64_t kBlocks = (ext[kn->k] + kKC - 1) / kKC;
    scf::ForOp::create(
        b, loc, cst(b, 0), cst(b, kBlocks), cst(b, 1), ValueRange{},
        [&](OpBuilder &kb, Location, Value iv, ValueRange) {
          kLo = arith::MulIOp::create(kb, loc, iv, cst(kb, kKC));
          kHi = arith::MinSIOp::create(
              kb, loc, arith::AddIOp::create(kb, loc, kLo, cst(kb, kKC)),
              cst(kb, ext[kn->k]));
          level(kb, 0, at);
          scf::YieldOp::create(kb, loc);
        });
  }
  for (Value p : packed)
    memref::DeallocOp::create(b, loc, p);
  // Unrolled once every use of the sums exists (the unroller redirects them
  // to its remainder loop). A tile step is 10 loads and 24 FMAs for 3 loop
  // uops; unrolled 4 times the loop's own uops no longer compete with the
  // FMAs for their ports (4-9% on the BERT layer's GEMMs).
  if (machine.kUnroll > 1)
    for (scf::ForOp l : kLoops)
      (void)loopUnrollByFactor(l, machine.kUnroll);
  return success();
}

} // namespace cascade
