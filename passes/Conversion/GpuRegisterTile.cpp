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
//     the tile, the reduction loops jammed into one so that every loaded
//     operand is shared by the points that read it (CSE merges the
//     duplicate loads, which no store separates). Legal because parallel
//     iterations are independent. A 4x4 tile turns 2 loads per FMA into 8
//     loads per 16 FMAs.
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
    loop.getBody()->walk([&](Operation *user) {
      if (user == load.getOperation() || memrefOf(user) != buffer)
        return;
      auto s = dyn_cast<memref::StoreOp>(user);
      if (!store && s && s->getBlock() == body &&
          s.getIndices() == load.getIndices() &&
          load->isBeforeInBlock(s))
        store = s;
      else
        other = true;
    });
    // Anything else touching memory in the loop could alias nothing here
    // (buffers are distinct), but calls or unknown effects are refused.
    bool unknown = false;
    loop.getBody()->walk([&](Operation *o) {
      if (!isa<memref::LoadOp, memref::StoreOp>(o) && !isMemoryEffectFree(o) &&
          !o->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
        unknown = true;
    });
    if (!store || other || unknown)
      continue;
    rewriter.setInsertionPoint(loop);
    Value init = memref::LoadOp::create(rewriter, load.getLoc(), buffer,
                                        load.getIndices());
    Value stored = store.getValueToStore();
    auto result = cast<LoopLikeOpInterface>(loop.getOperation())
                      .replaceWithAdditionalYields(
                          rewriter, ValueRange{init},
                          /*replaceInitOperandUsesInLoop=*/false,
                          [&](OpBuilder &, Location,
                              ArrayRef<BlockArgument>) {
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

/// Unrolls the tiled dimensions of `parallel` and jams its one reduction
/// loop. `factors[d]` is the tile of dimension d (1: untouched).
void unrollAndJam(RewriterBase &rewriter, scf::ParallelOp parallel,
                  ArrayRef<int64_t> factors) {
  Block *body = parallel.getBody();
  Location loc = parallel.getLoc();
  scf::ForOp reduction;
  for (Operation &op : body->without_terminator())
    if (auto f = dyn_cast<scf::ForOp>(op))
      reduction = f;
  SmallVector<Operation *> before, after;
  for (Operation &op : body->without_terminator()) {
    if (&op == reduction.getOperation())
      continue;
    (op.isBeforeInBlock(reduction) ? before : after).push_back(&op);
  }

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
          Value off = arith::MulIOp::create(
              rewriter, loc, step,
              arith::ConstantIndexOp::create(rewriter, loc, o));
          m.map(iv, arith::AddIOp::create(rewriter, loc, iv, off));
        }
        next.push_back(m);
      }
    points = std::move(next);
  }
  // The steps grow by the factors (read before, so the offsets above use
  // the original steps).
  SmallVector<Value> steps(parallel.getStep());
  rewriter.setInsertionPoint(parallel);
  for (unsigned d = 0; d < factors.size(); ++d)
    if (factors[d] > 1)
      steps[d] = arith::MulIOp::create(
          rewriter, loc, steps[d],
          arith::ConstantIndexOp::create(rewriter, loc, factors[d]));
  parallel.getStepMutable().assign(steps);

  rewriter.setInsertionPoint(reduction);
  for (IRMapping &m : points)
    for (Operation *op : before)
      rewriter.clone(*op, m);
  SmallVector<Value> inits;
  for (IRMapping &m : points)
    for (Value v : reduction.getInitArgs())
      inits.push_back(m.lookupOrDefault(v));
  auto jammed = scf::ForOp::create(
      rewriter, reduction.getLoc(), reduction.getLowerBound(),
      reduction.getUpperBound(), reduction.getStep(), inits,
      [&](OpBuilder &b, Location, Value iv, ValueRange args) {
        SmallVector<Value> yields;
        unsigned n = reduction.getNumRegionIterArgs();
        for (auto [i, m] : llvm::enumerate(points)) {
          m.map(reduction.getInductionVar(), iv);
          for (unsigned a = 0; a < n; ++a)
            m.map(reduction.getRegionIterArgs()[a], args[i * n + a]);
          for (Operation &op : reduction.getBody()->without_terminator())
            b.clone(op, m);
          for (Value y : reduction.getBody()->getTerminator()->getOperands())
            yields.push_back(m.lookupOrDefault(y));
        }
        scf::YieldOp::create(b, reduction.getLoc(), yields);
      });
  unsigned n = reduction.getNumResults();
  for (auto [i, m] : llvm::enumerate(points))
    for (unsigned r = 0; r < n; ++r)
      m.map(reduction.getResult(r), jammed.getResult(i * n + r));
  rewriter.setInsertionPointAfter(jammed);
  for (IRMapping &m : points)
    for (Operation *op : after)
      rewriter.clone(*op, m);
  for (Operation *op : llvm::reverse(after))
    rewriter.eraseOp(op);
  rewriter.eraseOp(reduction);
  for (Operation *op : llvm::reverse(before))
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
    for (auto p : llvm::to_vector(
             f.getBody().front().getOps<scf::ParallelOp>())) {
      promoteAccumulators(rewriter, p);
      if (tile == 1)
        continue;
      // Only a body with one reduction loop gains from jamming.
      unsigned loops = 0;
      for (Operation &op : p.getBody()->without_terminator())
        loops += isa<scf::ForOp>(op) ? 1 : 0;
      if (loops != 1 ||
          llvm::any_of(p.getBody()->without_terminator(), [](Operation &op) {
            return op.getNumRegions() && !isa<scf::ForOp>(op);
          }))
        continue;
      // Jammed points share the reduction's bounds: they must not depend
      // on the parallel loop (a causal mask's `m < p`).
      scf::ForOp reduction =
          *p.getBody()->getOps<scf::ForOp>().begin();
      if (llvm::any_of(reduction->getOperands().take_front(3), [&](Value v) {
            return p->isAncestor(v.getParentRegion()->getParentOp());
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
