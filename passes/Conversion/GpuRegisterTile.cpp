//===- GpuRegisterTile.cpp - Register tiles for GPU kernels ---------------===//
//
// After cascade-parallelize-nests, a contraction is a kernel-sized
// scf.parallel whose body runs a sequential reduction loop that loads and
// stores its accumulator on every iteration. Two steps make each thread
// compute a small tile of outputs with its accumulators in registers:
//
//  1. Accumulator promotion: a load and a store of the same element, at
//     indices fixed across a loop, with no other access to that buffer in
//     the loop, become a loop-carried value (one load before the loop, one
//     store after). Applied innermost-out, so nested reductions promote all
//     the way up.
//  2. Unroll-and-jam of the parallel loop: the last one or two parallel
//     dimensions step by `tile`, and the body is repeated once per point of
//     the tile, each reduction loop (nested ones too) jammed into one so
//     that every loaded operand is shared by the points that read it (CSE
//     merges the duplicate loads, which no store separates). Legal because
//     parallel iterations are independent. A 4x4 tile turns 2 loads per
//     FMA into 8 loads per 16 FMAs.
//
// Tiling happens only where the tile divides the trip count and enough
// threads remain to fill a device (`min-threads`).
//
//===----------------------------------------------------------------------===//
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "passes/Passes.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADEGPUREGISTERTILE
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;

namespace {

Value memrefOf(Operation *op) {
  if (auto l = dyn_cast<memref::LoadOp>(op))
    return l.getMemref();
  if (auto s = dyn_cast<memref::StoreOp>(op))
    return s.getMemref();
  return {};
}

/// Finds a load/store pair of one element of a buffer that only they
/// access in `loop`, at indices defined outside it; promotes it to a
/// loop-carried value. Returns true when it did.
bool promoteOne(RewriterBase &rewriter, scf::ForOp &loop) {
  Block *body = loop.getBody();
  // Loads and stores of distinct buffers cannot alias (kernel arguments and
  // allocations), but calls or unknown effects in the loop are refused.
  bool unknown = false;
  body->walk([&](Operation *o) {
    if (!isa<memref::LoadOp, memref::StoreOp>(o) && !isMemoryEffectFree(o) &&
        !o->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      unknown = true;
  });
  if (unknown)
    return false;
  for (Operation &op : *body) {
    auto load = dyn_cast<memref::LoadOp>(op);
    if (!load)
      continue;
    Value buffer = load.getMemref();
    auto invariant = [&](Value v) {
      return !loop->isAncestor(v.getParentRegion()->getParentOp());
    };
    if (!llvm::all_of(load.getIndices(), invariant))
      continue;
    memref::StoreOp store;
    bool other = false;
    body->walk([&](Operation *user) {
      if (user == load.getOperation() || memrefOf(user) != buffer)
        return;
      auto s = dyn_cast<memref::StoreOp>(user);
      if (!store && s && s->getBlock() == body &&
          s.getIndices() == load.getIndices() && load->isBeforeInBlock(s))
        store = s;
      else
        other = true;
    });
    if (!store || other)
      continue;
    rewriter.setInsertionPoint(loop);
    Value init = memref::LoadOp::create(rewriter, load.getLoc(), buffer,
                                        load.getIndices());
    Value stored = store.getValueToStore();
    auto result = cast<LoopLikeOpInterface>(loop.getOperation())
                      .replaceWithAdditionalYields(
                          rewriter, ValueRange{init},
                          /*replaceInitOperandUsesInLoop=*/false,
                          [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
                            return SmallVector<Value>{stored};
                          });
    if (failed(result))
      return false;
    auto newLoop = cast<scf::ForOp>(result->getOperation());
    rewriter.replaceAllUsesWith(load.getResult(),
                                newLoop.getRegionIterArgs().back());
    SmallVector<Value> indices(store.getIndices());
    rewriter.eraseOp(store);
    rewriter.eraseOp(load);
    rewriter.setInsertionPointAfter(newLoop);
    memref::StoreOp::create(rewriter, newLoop.getLoc(),
                            newLoop.getResults().back(), buffer, indices);
    loop = newLoop;
    return true;
  }
  return false;
}

void promoteAccumulators(RewriterBase &rewriter, scf::ParallelOp parallel) {
  // Post-order: inner loops first, so their promoted loads and stores
  // become candidates of the loops around them.
  SmallVector<scf::ForOp> loops;
  parallel.walk([&](scf::ForOp f) { loops.push_back(f); });
  for (scf::ForOp loop : loops)
    while (promoteOne(rewriter, loop)) {
    }
}

std::optional<int64_t> trips(scf::ParallelOp p, unsigned d) {
  auto lb = getConstantIntValue(p.getLowerBound()[d]);
  auto ub = getConstantIntValue(p.getUpperBound()[d]);
  auto step = getConstantIntValue(p.getStep()[d]);
  if (!lb || !ub || !step || *step <= 0)
    return std::nullopt;
  return std::max<int64_t>(0, (*ub - *lb + *step - 1) / *step);
}

/// Clones `ops` once per point of the tile, in op-major order (legal: the
/// points are independent iterations). An scf.for whose bounds are the same
/// for every point becomes one loop carrying every point's values, its body
/// jammed the same way, so that nested reductions share their loads too.
void cloneJammed(OpBuilder &b, Block::iterator begin, Block::iterator end,
                 MutableArrayRef<IRMapping> points) {
  for (Operation &op : llvm::make_range(begin, end)) {
    auto loop = dyn_cast<scf::ForOp>(op);
    auto sameBounds = [&] {
      for (Value v : loop->getOperands().take_front(3))
        for (IRMapping &m : points)
          if (m.lookupOrDefault(v) != points.front().lookupOrDefault(v))
            return false;
      return true;
    };
    if (!loop || !sameBounds()) {
      for (IRMapping &m : points)
        b.clone(op, m);
      continue;
    }
    IRMapping &first = points.front();
    SmallVector<Value> inits;
    for (IRMapping &m : points)
      for (Value v : loop.getInitArgs())
        inits.push_back(m.lookupOrDefault(v));
    unsigned n = loop.getNumRegionIterArgs();
    auto jammed = scf::ForOp::create(
        b, loop.getLoc(), first.lookupOrDefault(loop.getLowerBound()),
        first.lookupOrDefault(loop.getUpperBound()),
        first.lookupOrDefault(loop.getStep()), inits,
        [&](OpBuilder &nb, Location loc, Value iv, ValueRange args) {
          for (auto [i, m] : llvm::enumerate(points)) {
            m.map(loop.getInductionVar(), iv);
            for (unsigned a = 0; a < n; ++a)
              m.map(loop.getRegionIterArgs()[a], args[i * n + a]);
          }
          Block *body = loop.getBody();
          cloneJammed(nb, body->begin(), body->getTerminator()->getIterator(),
                      points);
          SmallVector<Value> yields;
          for (IRMapping &m : points)
            for (Value y : body->getTerminator()->getOperands())
              yields.push_back(m.lookupOrDefault(y));
          scf::YieldOp::create(nb, loc, yields);
        });
    for (auto [i, m] : llvm::enumerate(points))
      for (unsigned r = 0; r < n; ++r)
        m.map(loop.getResult(r), jammed.getResult(i * n + r));
  }
}

/// Unrolls the tiled dimensions of `parallel` and jams the copies of its
/// body. `factors[d]` is the tile of dimension d (1: untouched).
void unrollAndJam(RewriterBase &rewriter, scf::ParallelOp parallel,
                  ArrayRef<int64_t> factors) {
  Block *body = parallel.getBody();
  Location loc = parallel.getLoc();
  SmallVector<Operation *> original;
  for (Operation &op : body->without_terminator())
    original.push_back(&op);

  // The tile's points, and each point's induction variables.
  rewriter.setInsertionPointToStart(body);
  SmallVector<IRMapping> points(1);
  for (unsigned d = 0; d < factors.size(); ++d) {
    if (factors[d] == 1)
      continue;
    Value iv = parallel.getInductionVars()[d];
    Value step = parallel.getStep()[d];
    SmallVector<IRMapping> next;
    for (const IRMapping &p : points)
      for (int64_t o = 0; o < factors[d]; ++o) {
        IRMapping m = p;
        if (o > 0) {
          // Folded: the steps are constants, and nothing may canonicalize
          // after this pass (see cascade-gpu-distribute).
          Value off = rewriter.createOrFold<arith::MulIOp>(
              loc, step, arith::ConstantIndexOp::create(rewriter, loc, o));
          m.map(iv, arith::AddIOp::create(rewriter, loc, iv, off));
        }
        next.push_back(m);
      }
    points = std::move(next);
  }
  // The steps grow by the factors (after the offsets above, which use the
  // original steps).
  SmallVector<Value> steps(parallel.getStep());
  rewriter.setInsertionPoint(parallel);
  for (unsigned d = 0; d < factors.size(); ++d)
    if (factors[d] > 1)
      steps[d] = rewriter.createOrFold<arith::MulIOp>(
          loc, steps[d],
          arith::ConstantIndexOp::create(rewriter, loc, factors[d]));
  parallel.getStepMutable().assign(steps);

  OpBuilder b(original.front());
  cloneJammed(b, original.front()->getIterator(),
              body->getTerminator()->getIterator(), points);
  for (Operation *op : llvm::reverse(original))
    rewriter.eraseOp(op);
}

struct GpuRegisterTile
    : public cascade::impl::CascadeGpuRegisterTileBase<GpuRegisterTile> {
  using CascadeGpuRegisterTileBase::CascadeGpuRegisterTileBase;
  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (f.isExternal())
      return;
    if (tile < 1 || tile > 8) {
      f.emitError("register tile must be in [1, 8], not ")
          << static_cast<int64_t>(tile);
      return signalPassFailure();
    }
    IRRewriter rewriter(f.getContext());
    for (auto p :
         llvm::to_vector(f.getBody().front().getOps<scf::ParallelOp>())) {
      promoteAccumulators(rewriter, p);
      if (tile == 1)
        continue;
      // Only bodies with reduction loops gain from jamming, and jammed
      // points share a loop's bounds: these must not depend on the
      // parallel loop (a causal mask's `m < p`).
      auto loops = p.getBody()->getOps<scf::ForOp>();
      if (loops.empty() ||
          llvm::any_of(loops,
                       [&](scf::ForOp f) {
                         return llvm::any_of(
                             f->getOperands().take_front(3), [&](Value v) {
                               return p->isAncestor(
                                   v.getParentRegion()->getParentOp());
                             });
                       }) ||
          llvm::any_of(p.getBody()->without_terminator(), [](Operation &op) {
            return op.getNumRegions() && !isa<scf::ForOp>(op);
          }))
        continue;
      unsigned dims = p.getNumLoops();
      int64_t total = 1;
      SmallVector<std::optional<int64_t>> n;
      for (unsigned d = 0; d < dims; ++d) {
        n.push_back(trips(p, d));
        if (!n.back())
          total = -1;
        else if (total > 0)
          total *= *n.back();
      }
      if (total <= 0)
        continue;
      // The last two dimensions the tile divides, while enough threads
      // remain.
      SmallVector<int64_t> factors(dims, 1);
      int64_t threads = total;
      for (int d = dims - 1; d >= 0 && d >= (int)dims - 2; --d)
        if (*n[d] % tile == 0 && threads / tile >= minThreads) {
          factors[d] = tile;
          threads /= tile;
        }
      if (threads == total)
        continue;
      unrollAndJam(rewriter, p, factors);
    }
  }
};

} // namespace
