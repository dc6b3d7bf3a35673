//===- LoweringStrategy.h - How each equation executes ----------*- C++ -*-===//
//
// The one place that decides how a model's equations execute on a CPU: which
// equations share loops (a recurrence group's steps, the default heuristic's
// tiles around it, a schedule's `fuse` groups), which contraction gets a
// micro-kernel and of what shape, which elementwise equation is computed in
// its producer's kernel, and which nests run on the thread pool. The
// decision is recorded on each einsum as `#cascade.lowering<...>`
// (CascadeAttrs.td); cascade-lower-to-loops carries it out. docs/passes.md,
// "The strategy".
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_PASSES_STRATEGY_LOWERINGSTRATEGY_H
#define CASCADE_PASSES_STRATEGY_LOWERINGSTRATEGY_H

#include "dialects/Cascade/IR/CascadeOps.h"
#include "passes/Conversion/ContractionKernels.h"
#include "passes/Conversion/LoopNest.h"
#include <optional>
#include <string>

namespace cascade {

/// The discardable attribute that holds an einsum's configuration.
inline constexpr llvm::StringLiteral kLoweringAttr = "cascade.lowering";

/// The default heuristic's rewrite: every softmax-normalized contraction
/// becomes the 1-pass cascade with key tiles of 128 (FlashAttention's loop;
/// docs/passes.md, The default heuristic), fitted by fitOnePassTile. The
/// driver runs it, the tuner starts its search from it: one definition.
inline constexpr int64_t kDefaultOnePassTile = 128;

/// The key tile of a 1-pass rewrite asked for `tile` over `extent` keys:
/// at most the extent; with `fit`, halved (not below 32) until it divides
/// the extent, since a partial last tile keeps every step off the kernels.
int64_t fitOnePassTile(int64_t tile, int64_t extent, bool fit);

/// What the strategy may use.
struct StrategyOptions {
  bool parallel = true;        // nests and kernels on the thread pool
  bool kernels = true;         // contraction and transpose micro-kernels
  bool fuseRecurrences = true; // a recurrence group as one loop over steps
  bool tileRecurrences = true; // shared loops around a recurrence group
  /// The GPU targets' strategy: one thread per output, which their
  /// parallelization (cascade-parallelize-nests) expects: no CPU
  /// micro-kernels, no thread pool, no fused recurrence loops.
  bool gpu = false;
  KernelMachine machine;
};

/// Decides how each einsum of `f` executes and records it on the einsum
/// (kLoweringAttr). Fails with a located error on a `fuse` group that cannot
/// be fused; warns about schedule directives that name nothing.
mlir::LogicalResult chooseStrategy(mlir::func::FuncOp f,
                                   const StrategyOptions &options);

/// Checks the configurations recorded on `f`'s einsums (written by hand, or
/// by an earlier run) against what the strategy can prove legal: groups
/// whole and only where the strategy would form them (a configuration may
/// fuse less, never more), shared loops and epilogues only as it would
/// choose them, a folded init only for a constant init, and a parallel
/// nest only over an output loop. A located error otherwise.
mlir::LogicalResult verifyConfiguration(mlir::func::FuncOp f,
                                        const StrategyOptions &options);

/// A model function or outlined layer still on tensors (not lowered yet):
/// what the strategy and the lowering work on.
bool isUnloweredModel(mlir::func::FuncOp f);

/// The configuration recorded on `op`, or null.
LoweringConfigAttr loweringConfig(EinsumOp op);

/// One loop shared by the equations of a fused group: over rank `rank`
/// (whole: one index per iteration), its tile numbers (Outer, tiles of
/// `tile`) or the indices of the tile its Outer loop selects (Inner).
struct SharedLoop {
  std::string rank;
  LoopSchedule::Part part;
  int64_t extent, tile;
  bool parallel;
};

/// The shared loops as recorded (`"H"`, `"P/64"` tiles of 64, `"P%64"` the
/// indices of one tile, a trailing `*` when parallel), and back; extents
/// come from the group's equations.
std::string printSharedLoop(const SharedLoop &s);
std::optional<SharedLoop> parseSharedLoop(llvm::StringRef text,
                                          llvm::ArrayRef<EinsumOp> group);

/// The recurrence's body reads itself only at [m1, same other indices].
bool readsOnlyOwnPrevious(EinsumOp rec);
/// `op` reads `tensor` (a recurrence) only at its current step, m1 + 1.
bool readsOnlyCurrent(EinsumOp op, mlir::Value tensor);
/// The constant a recurrence starts from, when its init equation is a
/// constant that only this recurrence reads (`init RM[0,p] = -inf`): it is
/// then stored directly and the init tensor is never built.
std::optional<double> constantInit(EinsumOp rec);
/// When `red` reduces `prod`'s result over one of its coordinates and only
/// reads it (`LM[m1,h,p] = QK_T[m1,m0,h,p] :: max(m0)`): for each of
/// `prod`'s output coordinates, the index of `red` that reads it.
std::optional<llvm::SmallVector<unsigned>> rowReduction(EinsumOp prod,
                                                        EinsumOp red);

} // namespace cascade

#endif
