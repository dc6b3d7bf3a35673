//===- LoopNest.h - Schedule loop directives and loop-nest building -*- C++
//-*-===//
//
// The loop directives of a model's schedule (LANGUAGE.md section 6: split,
// fuse, order, parallel, vectorize, unroll, bind) as the lowering applies
// them, and a builder for the scf loop nests they describe.
//
// A loop is named after the rank it runs over: an unsplit rank gives one
// loop named like the rank (index `p` of rank P: loop P); a rank split by
// `split P -> P1, P0 = 32` gives two loops, P1 over the tiles and P0 inside
// one tile (the last tile is shorter when 32 does not divide P).
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_PASSES_CONVERSION_LOOPNEST_H
#define CASCADE_PASSES_CONVERSION_LOOPNEST_H

#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cascade {

/// `split R -> OUTER, INNER = tile`.
struct RankSplit {
  std::string outer, inner;
  int64_t tile = 1;
};

/// The loop directives recorded on a model function (`cascade.schedule`).
struct LoopSchedule {
  llvm::StringMap<RankSplit> splits;                   // by rank
  llvm::StringMap<std::vector<std::string>> orders;    // by equation or group
  llvm::StringMap<mlir::Location> orderLocs, fuseLocs; // directive locations
  llvm::StringSet<> parallel, vectorize;               // loop names
  llvm::StringMap<int64_t> unroll;                     // loop name -> factor
  std::optional<mlir::Location> bindLoc;

  static LoopSchedule fromFunction(mlir::func::FuncOp f);
  /// The rank of dimension `d` of `op` (index `m1` runs over rank M1).
  static std::string rankOf(EinsumOp op, unsigned d);
  /// The rank a loop name runs over, and whether the name is the outer or
  /// inner part of a split (neither for an unsplit rank).
  enum class Part { Whole, Outer, Inner };
  std::optional<std::pair<std::string, Part>>
  loopOf(llvm::StringRef name) const;
  /// Whether a directive shapes the loops of `op`: its group, an order for
  /// it, a split of one of its ranks, or a loop of it named by parallel,
  /// vectorize or unroll.
  bool touches(EinsumOp op) const;
  /// The order that applies to `op`: its own, else its group's.
  const std::vector<std::string> *orderFor(EinsumOp op) const;
};

/// How enclosing fused loops restrict a rank inside a fused nest: to one
/// value (a recurrence group's step, a shared unsplit loop) or to the tile
/// [lb, ub) of a shared outer loop. `size` is ub - lb when it is the same
/// for every tile (the split divides the extent), else 0.
struct RankBound {
  mlir::Value fixed, lb, ub;
  int64_t size = 0;
};
using RankBounds = llvm::StringMap<RankBound>;

/// One loop of a nest over dimension `dim` of an iteration space.
struct LoopLevel {
  unsigned dim = 0;
  std::string name;
  LoopSchedule::Part part = LoopSchedule::Part::Whole;
  int64_t extent = 0;     // the dimension's extent
  int64_t tile = 0;       // Outer/Inner: the split's inner extent
  int64_t lowerBound = 0; // Whole, without `lb`
  mlir::Value lb, ub;     // Whole within an enclosing tile
  bool parallel = false, vectorize = false;
  int64_t unroll = 0;
};

/// The loops of a scheduled nest of `op`, outermost first, with the loop
/// directives of `sched` applied (docs/passes.md, Loop order): the
/// `defaultOrder` with each split rank's tile loop in front, then the
/// schedule's `order`, vectorized loops innermost, each inner part inside its
/// outer part, and, with `crossReads`, the iterative index outermost. A
/// dimension with `fixed[d]` gets no loop; `bound[d]` (may be null) restricts
/// it to an enclosing shared tile. At most one loop is parallel, none when
/// `parallelTaken` (an enclosing loop already is).
llvm::SmallVector<LoopLevel>
scheduledLevels(EinsumOp op, const LoopSchedule &sched,
                llvm::ArrayRef<unsigned> defaultOrder,
                llvm::ArrayRef<mlir::Value> fixed,
                llvm::ArrayRef<const RankBound *> bound, bool crossReads,
                bool parallelTaken);

/// A value the innermost level carries from one iteration to the next (a
/// reduction in a register): `init` is its start before that loop, `step`
/// combines one point into it, `done` stores it after the loop. The
/// dimension values passed to `init` and `done` leave out the innermost one.
struct Accumulation {
  std::function<mlir::Value(mlir::OpBuilder &, llvm::ArrayRef<mlir::Value>)>
      init;
  std::function<mlir::Value(mlir::OpBuilder &, llvm::ArrayRef<mlir::Value>,
                            mlir::Value)>
      step;
  std::function<void(mlir::OpBuilder &, llvm::ArrayRef<mlir::Value>,
                     mlir::Value)>
      done;
};

/// Builds a nest of `levels` (outermost first). The body gets the value of
/// each dimension (indexed by dimension; `fixed` supplies dimensions no
/// level runs over). An Outer level runs over tile numbers and its Inner
/// level over the indices of that tile. Parallel levels become scf.parallel,
/// vectorize levels carry an LLVM loop annotation (vectorize enable), and
/// unroll levels are unrolled by their factor once the nest is built. With
/// `accumulate`, the innermost level carries a value instead of calling
/// `body` (which may then be null).
void buildLoopNest(
    mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<LoopLevel> levels,
    llvm::ArrayRef<mlir::Value> fixed,
    llvm::function_ref<void(mlir::OpBuilder &, llvm::ArrayRef<mlir::Value>)>
        body,
    const Accumulation *accumulate = nullptr);

/// The [lb, ub) of `level` at the builder's insertion point, given the tile
/// number of its Outer level (Inner levels only).
std::pair<mlir::Value, mlir::Value> levelBounds(mlir::OpBuilder &b,
                                                mlir::Location loc,
                                                const LoopLevel &level,
                                                mlir::Value tileNumber);

} // namespace cascade

#endif
