//===- CostModel.h - Analytical cost of a scheduled cascade -----*- C++ -*-===//
//
// Where times cannot be measured (aarch64 under qemu), `cascade tune` ranks
// candidates by this estimate instead: a roofline per equation, from the
// FLOPs and bytes of the cascade analysis, with an efficiency that depends
// on how the equation will be lowered (a contraction on its micro-kernel, a
// contraction the schedule turns into a plain nest, an elementwise nest).
// It knows nothing of caches or fusion; docs/tuning.md says what it is for.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_COMPILER_TUNER_COSTMODEL_H
#define CASCADE_COMPILER_TUNER_COSTMODEL_H

#include "compiler/Target/Target.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace cascade {

/// Estimated milliseconds of `model` (after its rewrites, with its loop
/// directives recorded as `cascade.schedule`) on one core of `machine`.
double estimateMs(mlir::func::FuncOp model, const CpuMachine &machine);

} // namespace cascade

#endif
