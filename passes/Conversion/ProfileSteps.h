//===- ProfileSteps.h - Naming the lowering's steps for profiles -*- C++
//-*-===//
//
// cascade-lower-to-loops emits each equation, or each group it executes as
// one (a kernel with its epilogue, a fused group, a recurrence group), as a
// run of top-level ops of its function. StepRecorder tags those ops with the
// step's number (`cascade.step`) and records on the function what each step
// is (`cascade.steps`: name, equations, FLOPs), when asked to (the lowering's
// `steps` option); cascade-profile-steps then times the tagged runs and
// removes the tags.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_PASSES_CONVERSION_PROFILESTEPS_H
#define CASCADE_PASSES_CONVERSION_PROFILESTEPS_H

#include "dialects/Cascade/IR/CascadeOps.h"
#include "llvm/ADT/StringMap.h"

namespace cascade {

/// Step number of a top-level op of a lowered function; -1 for ops that
/// belong to no step (calls of outlined layers, which have their own).
constexpr llvm::StringLiteral kStepAttr = "cascade.step";
/// On a lowered function: one dictionary per step (name, equations, flops).
constexpr llvm::StringLiteral kStepsAttr = "cascade.steps";

/// The module global cascade-profile-steps adds to (two i64 per step: ns,
/// calls); code generation exports it as `cascade_<model>_profile`.
constexpr llvm::StringLiteral kProfileCounters = "__cascade_profile";
/// On the module, after cascade-profile-steps: every step in counter
/// order, each with the function it runs in.
constexpr llvm::StringLiteral kProfileStepsAttr = "cascade.profile_steps";

class StepRecorder {
public:
  /// Takes the FLOPs of `f`'s equations, which must still be at the cascade
  /// level.
  explicit StepRecorder(mlir::func::FuncOp f);

  /// Tags the ops before `end` in its block that no step has claimed as
  /// the step that executes `equations` (the last names the step). Emitted
  /// nothing: no step.
  void record(mlir::Operation *end, llvm::ArrayRef<EinsumOp> equations);
  /// Claims the ops before `end` for no step.
  void recordUntimed(mlir::Operation *end);
  /// Stores the steps on the function.
  void finish();

private:
  /// Tags the unclaimed ops before `end` with `step`; how many.
  unsigned claim(mlir::Operation *end, int64_t step);

  mlir::func::FuncOp func;
  llvm::StringMap<int64_t> flops;
  llvm::SmallVector<mlir::Attribute> steps;
};

} // namespace cascade

#endif
