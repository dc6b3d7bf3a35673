//===- ParallelizeNests.cpp - One scf.parallel per top-level loop nest ----===//
//
// Loop-level IR for a GPU: each top-level loop nest becomes one kernel-sized
// scf.parallel. The legality test is deliberately simple and sufficient: a
// loop may run its iterations in parallel when every access to every buffer
// the nest writes has the loop's induction variable itself as one of its
// indices (the same dimension for all accesses of that buffer), so that two
// iterations never touch the same element. Such loops are hoisted outermost,
// which is legal for the same reason: the nest splits into independent
// sub-nests, one per iteration.
//
//===----------------------------------------------------------------------===//
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "passes/Passes.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADEPARALLELIZENESTS
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;

namespace {

struct Access {
  Value memref;
  SmallVector<Value> indices;
  bool write = false;
};

/// A pure scalar op (index arithmetic, constants) that can be cloned to any
/// place its operands dominate.
bool isPureScalar(Operation *op) {
  return op->getNumRegions() == 0 && isMemoryEffectFree(op);
}

/// The buffer accesses under `root`; fails when something else touches
/// memory, or a buffer is not a function argument or an allocation (a view
/// could alias another buffer). Buffers allocated inside `root` are private
/// to one iteration and left out.
LogicalResult collectAccesses(Operation *root, SmallVector<Access> &out) {
  bool ok = true;
  auto add = [&](Value m, ValueRange idx, bool write) {
    Operation *def = m.getDefiningOp();
    if (def && root->isAncestor(def) && isa<memref::AllocaOp>(def))
      return;
    if (def && !isa<memref::AllocOp>(def))
      ok = false;
    if (!def &&
        !isa<func::FuncOp>(cast<BlockArgument>(m).getOwner()->getParentOp()))
      ok = false;
    out.push_back({m, SmallVector<Value>(idx), write});
  };
  root->walk([&](Operation *op) {
    if (auto l = dyn_cast<memref::LoadOp>(op))
      add(l.getMemref(), l.getIndices(), false);
    else if (auto s = dyn_cast<memref::StoreOp>(op))
      add(s.getMemref(), s.getIndices(), true);
    else if (!op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() &&
             !isMemoryEffectFree(op) && !isa<memref::AllocaOp>(op))
      ok = false;
  });
  return success(ok);
}

/// Whether the iterations of the loop with induction variable `iv` touch
/// disjoint elements of every buffer written among `accesses`.
bool independent(Value iv, ArrayRef<Access> accesses) {
  llvm::SetVector<Value> written;
  for (const Access &a : accesses)
    if (a.write)
      written.insert(a.memref);
  for (Value m : written) {
    auto rank = cast<MemRefType>(m.getType()).getRank();
    SmallVector<bool> dims(rank, true);
    for (const Access &a : accesses)
      if (a.memref == m)
        for (int64_t k = 0; k < rank; ++k)
          dims[k] = dims[k] && a.indices[k] == iv;
    if (!llvm::is_contained(dims, true))
      return false;
  }
  return true;
}

/// The perfectly nested chain of scf.for loops from `root` down: each loop's
/// body holds only pure scalar ops and the next loop, whose bounds are
/// defined outside `root`.
SmallVector<scf::ForOp> loopChain(scf::ForOp root) {
  SmallVector<scf::ForOp> chain{root};
  auto outside = [&](Value v) {
    return !root->isAncestor(v.getParentBlock()->getParentOp());
  };
  while (true) {
    scf::ForOp next;
    bool perfect = true;
    for (Operation &op : chain.back().getBody()->without_terminator()) {
      auto f = dyn_cast<scf::ForOp>(op);
      if (f && !next && f.getNumResults() == 0)
        next = f;
      else if (!isPureScalar(&op))
        perfect = false;
    }
    if (!perfect || !next || !outside(next.getLowerBound()) ||
        !outside(next.getUpperBound()) || !outside(next.getStep()))
      return chain;
    chain.push_back(next);
  }
}

/// Rebuilds the nest at `root` as an scf.parallel over its independent
/// chain loops around the others; fails (changing nothing) when no chain
/// loop is independent.
LogicalResult parallelizeNest(scf::ForOp root) {
  if (root.getNumResults() != 0)
    return failure();
  SmallVector<Access> accesses;
  if (failed(collectAccesses(root, accesses)))
    return failure();
  SmallVector<scf::ForOp> chain = loopChain(root);
  SmallVector<scf::ForOp> par, seq;
  for (scf::ForOp f : chain)
    (independent(f.getInductionVar(), accesses) ? par : seq).push_back(f);
  if (par.empty())
    return failure();

  OpBuilder b(root);
  Location loc = root.getLoc();
  SmallVector<Value> lbs, ubs, steps;
  for (scf::ForOp f : par) {
    lbs.push_back(f.getLowerBound());
    ubs.push_back(f.getUpperBound());
    steps.push_back(f.getStep());
  }
  // The body of the innermost chain loop, after the pure ops of the levels
  // above it (cloned innermost: they only need induction variables).
  auto emitBody = [&](OpBuilder &ib, IRMapping &map) {
    for (auto [i, f] : llvm::enumerate(chain))
      for (Operation &op : f.getBody()->without_terminator())
        if (i + 1 == chain.size() || &op != chain[i + 1].getOperation())
          ib.clone(op, map);
  };
  std::function<void(OpBuilder &, unsigned, IRMapping &)> emitSeq =
      [&](OpBuilder &ib, unsigned level, IRMapping &map) {
        if (level == seq.size())
          return emitBody(ib, map);
        scf::ForOp f = seq[level];
        scf::ForOp::create(
            ib, f.getLoc(), f.getLowerBound(), f.getUpperBound(), f.getStep(),
            ValueRange{}, [&](OpBuilder &nb, Location l, Value iv, ValueRange) {
              map.map(f.getInductionVar(), iv);
              emitSeq(nb, level + 1, map);
              scf::YieldOp::create(nb, l);
            });
      };
  scf::ParallelOp::create(b, loc, lbs, ubs, steps,
                          [&](OpBuilder &pb, Location, ValueRange ivs) {
                            IRMapping map;
                            for (auto [f, iv] : llvm::zip(par, ivs))
                              map.map(f.getInductionVar(), iv);
                            emitSeq(pb, 0, map);
                          });
  root.erase();
  return success();
}

/// Replaces an scf.parallel without reductions by nested scf.for loops.
LogicalResult sequentialize(scf::ParallelOp p) {
  if (!p.getInitVals().empty())
    return p.emitError("parallel loops with reductions are not supported "
                       "on GPU targets");
  OpBuilder b(p);
  IRMapping map;
  Block *body = p.getBody();
  std::function<void(OpBuilder &, unsigned)> build = [&](OpBuilder &ib,
                                                         unsigned d) {
    if (d == p.getNumLoops()) {
      for (Operation &op : body->without_terminator())
        ib.clone(op, map);
      return;
    }
    scf::ForOp::create(ib, p.getLoc(), p.getLowerBound()[d],
                       p.getUpperBound()[d], p.getStep()[d], ValueRange{},
                       [&](OpBuilder &nb, Location l, Value iv, ValueRange) {
                         map.map(p.getInductionVars()[d], iv);
                         build(nb, d + 1);
                         scf::YieldOp::create(nb, l);
                       });
  };
  build(b, 0);
  p.erase();
  return success();
}

/// A one-iteration scf.parallel before `before`, returning its body's
/// terminator (insert ops before it).
Operation *singleIteration(OpBuilder &b, Location loc, Operation *before) {
  b.setInsertionPoint(before);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  auto p = scf::ParallelOp::create(b, loc, ValueRange{c0}, ValueRange{c1},
                                   ValueRange{c1},
                                   [](OpBuilder &, Location, ValueRange) {});
  return p.getBody()->getTerminator();
}

/// memref.copy of a static buffer as an element-wise parallel loop.
void expandCopy(memref::CopyOp copy) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  auto type = cast<MemRefType>(copy.getSource().getType());
  Value src = copy.getSource(), dst = copy.getTarget();
  if (type.getRank() == 0) {
    b.setInsertionPoint(singleIteration(b, loc, copy));
    Value v = memref::LoadOp::create(b, loc, src, ValueRange{});
    memref::StoreOp::create(b, loc, v, dst, ValueRange{});
  } else {
    SmallVector<Value> lbs, ubs, steps;
    for (int64_t e : type.getShape()) {
      lbs.push_back(arith::ConstantIndexOp::create(b, loc, 0));
      ubs.push_back(arith::ConstantIndexOp::create(b, loc, e));
      steps.push_back(arith::ConstantIndexOp::create(b, loc, 1));
    }
    scf::ParallelOp::create(b, loc, lbs, ubs, steps,
                            [&](OpBuilder &pb, Location l, ValueRange ivs) {
                              Value v = memref::LoadOp::create(pb, l, src, ivs);
                              memref::StoreOp::create(pb, l, v, dst, ivs);
                            });
  }
  copy.erase();
}

struct ParallelizeNests
    : public cascade::impl::CascadeParallelizeNestsBase<ParallelizeNests> {
  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (f.isExternal())
      return;
    Block &entry = f.getBody().front();

    SmallVector<scf::ParallelOp> existing;
    f.walk([&](scf::ParallelOp p) { existing.push_back(p); }); // inner first
    for (scf::ParallelOp p : existing)
      if (failed(sequentialize(p)))
        return signalPassFailure();

    SmallVector<Operation *> allocs, deallocs;
    for (Operation &op : llvm::make_early_inc_range(entry)) {
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        if (alloc->getNumOperands() == 0)
          allocs.push_back(alloc);
      } else if (isa<memref::DeallocOp>(op)) {
        deallocs.push_back(&op);
      } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        expandCopy(copy);
      }
    }
    for (Operation *op : llvm::reverse(allocs))
      op->moveBefore(&entry, entry.begin());
    for (Operation *op : deallocs)
      op->moveBefore(entry.getTerminator());

    // Runs of top-level code no parallel nest covers become one-iteration
    // kernels; a nest that uses a value of the current run joins it.
    SmallVector<Operation *> run;
    llvm::SmallPtrSet<Operation *, 16> inRun;
    auto usesRun = [&](Operation *op) {
      bool uses = false;
      op->walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          if (Operation *d = v.getDefiningOp())
            uses |= inRun.contains(d);
      });
      return uses;
    };
    auto flush = [&]() -> LogicalResult {
      if (run.empty())
        return success();
      for (Operation *op : run)
        for (Operation *user : op->getUsers()) {
          Operation *top = entry.findAncestorOpInBlock(*user);
          if (!inRun.contains(top))
            return op->emitError("cannot map this code to GPU kernels: a "
                                 "value it computes is used elsewhere");
        }
      OpBuilder b(f.getContext());
      Operation *term = singleIteration(b, run.front()->getLoc(), run.front());
      for (Operation *op : run)
        op->moveBefore(term);
      run.clear();
      inRun.clear();
      return success();
    };
    for (Operation &op : llvm::make_early_inc_range(entry)) {
      if (op.hasTrait<OpTrait::IsTerminator>() || isa<scf::ParallelOp>(op) ||
          isa<memref::AllocOp, memref::DeallocOp>(op)) {
        if (failed(flush()))
          return signalPassFailure();
        continue;
      }
      if (isPureScalar(&op) && !usesRun(&op))
        continue; // stays at the top, outside any kernel
      auto loop = dyn_cast<scf::ForOp>(op);
      if (loop && !usesRun(&op)) {
        if (failed(flush()))
          return signalPassFailure();
        if (succeeded(parallelizeNest(loop)))
          continue;
      }
      run.push_back(&op);
      inRun.insert(&op);
    }
  }
};

} // namespace
