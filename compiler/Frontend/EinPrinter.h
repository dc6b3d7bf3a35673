//===- EinPrinter.h - Print a cascade back as a .ein file -------*- C++ -*-===//
#ifndef CASCADE_COMPILER_FRONTEND_EINPRINTER_H
#define CASCADE_COMPILER_FRONTEND_EINPRINTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace cascade {

/// Prints every model function of `module` in .ein notation. The text
/// parses back to the same IR (up to locations). Fails, with a diagnostic,
/// on IR that is no longer at the cascade level (after lowering).
mlir::LogicalResult printAsEin(mlir::ModuleOp module, llvm::raw_ostream &os);

/// Shortest decimal spelling of `v` that reads back as the same double.
std::string formatNumber(double v);

} // namespace cascade

#endif
