//===- TiledKernel.cpp - A schedule's tile loops around a micro-kernel ----===//
#include "passes/Conversion/TiledKernel.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "passes/Conversion/LoopOrder.h"

using namespace mlir;

namespace cascade {

FailureOr<KernelTiling>
tileAroundKernel(EinsumOp op, ArrayRef<LoopLevel> levels, std::string &whyNot) {
  using Part = LoopSchedule::Part;
  unsigned numOut = op.getNumOutputDims();
  for (const LoopLevel &l : levels)
    if (l.dim >= numOut && l.part != Part::Whole) {
      whyNot = "a split of reduced loop " + l.name;
      return failure();
    }
  // The tile loops: everything up to the last tile-number loop.
  unsigned cut = 0;
  for (auto [i, l] : llvm::enumerate(levels))
    if (l.part == Part::Outer)
      cut = i + 1;
  KernelTiling t;
  for (auto [i, l] : llvm::enumerate(levels)) {
    if (i < cut) {
      if (l.dim >= numOut) {
        whyNot = "reduced loop " + l.name + " outside tile loops";
        return failure();
      }
      if (l.part == Part::Inner) {
        whyNot = "tile loop " + l.name + " outside tile-number loops";
        return failure();
      }
      t.tileLoops.push_back(l);
      continue;
    }
    if (l.unroll > 1) {
      whyNot = "unroll of loop " + l.name + " inside the kernel's tile";
      return failure();
    }
    t.kernelParallel |= l.parallel;
  }
  return t;
}

std::string whyScheduleExcludesKernel(EinsumOp op, const LoopSchedule &sched) {
  if (auto group = op->getAttrOfType<StringAttr>("cascade.fuse"))
    return "in fuse group " + group.getValue().str();
  if (op.isRecurrence())
    return "a recurrence";
  unsigned numLoops = op.getNumLoops();
  SmallVector<Value> fixed(numLoops);
  SmallVector<const RankBound *> bound(numLoops, nullptr);
  std::string whyNot;
  (void)tileAroundKernel(op,
                         scheduledLevels(op, sched, chooseLoopOrder(op), fixed,
                                         bound, false, false),
                         whyNot);
  return whyNot;
}

LogicalResult emitTiledKernel(OpBuilder &b, Location loc, EinsumOp op,
                              const KernelTiling &tiling, TileKernelFn kernel) {
  using Part = LoopSchedule::Part;
  SmallVector<IndexRange> ranges(op.getNumLoops());
  SmallVector<std::pair<scf::ForOp, int64_t>> toUnroll;
  bool ok = true;
  auto cst = [&](OpBuilder &nb, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(nb, loc, v);
  };

  // Loop `depth` over [0, trips): `bind` sets its dimension's range from the
  // induction variable, then the next level is emitted inside.
  std::function<void(OpBuilder &, unsigned)> level;
  auto loop = [&](OpBuilder &nb, unsigned depth, int64_t trips,
                  function_ref<void(OpBuilder &, Value)> bind) {
    const LoopLevel &l = tiling.tileLoops[depth];
    Value lb = cst(nb, 0), ub = cst(nb, trips), one = cst(nb, 1);
    if (l.parallel) {
      scf::ParallelOp::create(nb, loc, ValueRange{lb}, ValueRange{ub},
                              ValueRange{one},
                              [&](OpBuilder &pb, Location, ValueRange ivs) {
                                bind(pb, ivs[0]);
                                level(pb, depth + 1);
                                scf::ReduceOp::create(pb, loc);
                              });
    } else {
      auto f = scf::ForOp::create(
          nb, loc, lb, ub, one, ValueRange{},
          [&](OpBuilder &fb, Location, Value iv, ValueRange) {
            bind(fb, iv);
            level(fb, depth + 1);
            scf::YieldOp::create(fb, loc);
          });
      if (l.unroll > 1)
        toUnroll.push_back({f, l.unroll});
    }
  };
  level = [&](OpBuilder &nb, unsigned depth) {
    if (!ok)
      return;
    if (depth == tiling.tileLoops.size()) {
      if (failed(kernel(nb, ranges, tiling.kernelParallel)))
        ok = false;
      return;
    }
    const LoopLevel &l = tiling.tileLoops[depth];
    IndexRange saved = ranges[l.dim];
    if (l.part == Part::Whole) {
      loop(nb, depth, l.extent,
           [&](OpBuilder &, Value iv) { ranges[l.dim] = {iv, 1}; });
    } else {
      // Full tiles in a loop, then the remainder tile (static extents).
      int64_t full = l.extent / l.tile, rest = l.extent % l.tile;
      if (full > 0)
        loop(nb, depth, full, [&](OpBuilder &fb, Value iv) {
          ranges[l.dim] = {arith::MulIOp::create(fb, loc, iv, cst(fb, l.tile)),
                           l.tile};
        });
      if (rest > 0) {
        ranges[l.dim] = {cst(nb, full * l.tile), rest};
        level(nb, depth + 1);
      }
    }
    ranges[l.dim] = saved;
  };
  if (tiling.tileLoops.empty()) {
    // No tile loops: the kernel computes the whole output.
    return kernel(b, ranges, tiling.kernelParallel);
  }
  // What is emitted lies between `prev` and `next` in the block.
  Block *block = b.getInsertionBlock();
  Block::iterator ip = b.getInsertionPoint();
  Operation *prev = ip == block->begin() ? nullptr : &*std::prev(ip);
  Operation *next = ip == block->end() ? nullptr : &*ip;
  level(b, 0);
  if (!ok) {
    SmallVector<Operation *> emitted;
    for (Operation *o = prev ? prev->getNextNode() : &block->front();
         o && o != next; o = o->getNextNode())
      emitted.push_back(o);
    for (Operation *o : llvm::reverse(emitted)) {
      o->dropAllUses();
      o->erase();
    }
    return failure();
  }
  // Innermost first, so an outer unroll copies the unrolled inner loop.
  for (auto &[f, factor] : llvm::reverse(toUnroll))
    (void)loopUnrollByFactor(f, factor);
  return success();
}

} // namespace cascade
