//===- StrategyReport.h - The strategy as cascade analyze shows it -*- C++
//-*-===//
#ifndef CASCADE_COMPILER_DRIVER_STRATEGYREPORT_H
#define CASCADE_COMPILER_DRIVER_STRATEGYREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

namespace cascade {

/// Prints each einsum's `#cascade.lowering` configuration of `module` (the
/// model function, then each outlined layer) as a table: equation, how it
/// executes, and the details (kernel shape, threads, fusion, epilogue, why
/// no kernel).
void printStrategy(mlir::ModuleOp module, llvm::raw_ostream &os);

/// The same as JSON: one object per einsum.
llvm::json::Array strategyJson(mlir::ModuleOp module);

} // namespace cascade

#endif
