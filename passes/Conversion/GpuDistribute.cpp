//===- GpuDistribute.cpp - Blocks and threads for top-level parallel loops ===//
//
// Each top-level scf.parallel (one kernel, see cascade-parallelize-nests)
// is collapsed into one dimension and tiled by the block size, giving the
// two nested parallel loops that gpu-map-parallel-loops maps to the grid
// and the threads of a block. One dimension keeps the grid within CUDA's
// and WebGPU's limits whatever the rank, and the last original dimension
// varies fastest across neighbouring threads (coalesced accesses).
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "passes/Passes.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADEGPUDISTRIBUTE
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;

namespace {

std::optional<int64_t> tripCount(scf::ParallelOp p) {
  int64_t n = 1;
  for (unsigned d = 0; d < p.getNumLoops(); ++d) {
    auto lb = getConstantIntValue(p.getLowerBound()[d]);
    auto ub = getConstantIntValue(p.getUpperBound()[d]);
    auto step = getConstantIntValue(p.getStep()[d]);
    if (!lb || !ub || !step || *step <= 0)
      return std::nullopt;
    n *= std::max<int64_t>(0, (*ub - *lb + *step - 1) / *step);
  }
  return n;
}

struct GpuDistribute
    : public cascade::impl::CascadeGpuDistributeBase<GpuDistribute> {
  using CascadeGpuDistributeBase::CascadeGpuDistributeBase;
  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (f.isExternal())
      return;
    if (blockSize < 1 || blockSize > 1024) {
      f.emitError("block size must be in [1, 1024], not ")
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    Block &entry = f.getBody().front();
    IRRewriter rewriter(f.getContext());
    for (auto p : llvm::to_vector(entry.getOps<scf::ParallelOp>())) {
      // The trip count, read before collapsing hides it behind arithmetic.
      std::optional<int64_t> trips = tripCount(p);
      if (p.getNumLoops() > 1) {
        std::vector<unsigned> all;
        for (unsigned d = 0; d < p.getNumLoops(); ++d)
          all.push_back(d);
        Operation *prev = p->getPrevNode();
        rewriter.setInsertionPoint(p);
        collapseParallelLoops(rewriter, p, {all});
        Operation *next = prev ? prev->getNextNode() : &entry.front();
        while (!isa<scf::ParallelOp>(next))
          next = next->getNextNode();
        p = cast<scf::ParallelOp>(next);
      }
      int64_t tile = blockSize;
      if (trips)
        tile = std::max<int64_t>(1, std::min<int64_t>(tile, *trips));
      scf::tileParallelLoop(p, {tile}, /*noMinMaxBounds=*/true);
    }
  }
};

} // namespace
