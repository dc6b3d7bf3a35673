//===- ModelBuilder.h - .ein source to the cascade dialect ------*- C++ -*-===//
#ifndef CASCADE_COMPILER_FRONTEND_MODELBUILDER_H
#define CASCADE_COMPILER_FRONTEND_MODELBUILDER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/SourceMgr.h"

namespace cascade {

/// Parses the main buffer of `sourceMgr` as a .ein model, checks it and
/// builds a module holding one `func.func` (the cascade). Every problem is
/// reported through `context`'s diagnostic engine at its source location;
/// returns null if there was an error. `defaultName` names the model when the
/// file has no `model` statement (the file's stem).
mlir::OwningOpRef<mlir::ModuleOp>
buildModelFromSource(llvm::SourceMgr &sourceMgr, mlir::MLIRContext *context,
                     llvm::StringRef defaultName);

} // namespace cascade

#endif
