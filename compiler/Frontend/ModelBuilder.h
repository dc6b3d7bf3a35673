//===- ModelBuilder.h - .ein source to the cascade dialect ------*- C++ -*-===//
#ifndef CASCADE_COMPILER_FRONTEND_MODELBUILDER_H
#define CASCADE_COMPILER_FRONTEND_MODELBUILDER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/SourceMgr.h"
#include <map>
#include <optional>

namespace cascade {

/// Values given on the command line (`--set NAME=VALUE`) for ranks and
/// constants of a model, replacing their declared values.
using ModelOverrides = std::map<std::string, double>;

/// Parses the main buffer of `sourceMgr` as a .ein model, checks it and
/// builds a module holding one `func.func` (the cascade). Every problem is
/// reported through `context`'s diagnostic engine at its source location;
/// returns null if there was an error. `defaultName` names the model when the
/// file has no `model` statement (the file's stem).
/// `scheduleBuffer`, when given, is a buffer of `sourceMgr` holding a
/// schedule file (`--schedule FILE`), which replaces the model's own
/// schedule block. The checked schedule is recorded on the function as
/// `cascade.schedule` (see applyScheduleRewrites in the driver).
/// `overrides` replace the declared values of ranks and constants (later
/// declarations that use them follow); naming anything else is an error.
mlir::OwningOpRef<mlir::ModuleOp>
buildModelFromSource(llvm::SourceMgr &sourceMgr, mlir::MLIRContext *context,
                     llvm::StringRef defaultName,
                     std::optional<unsigned> scheduleBuffer = std::nullopt,
                     const ModelOverrides &overrides = {});

} // namespace cascade

#endif
