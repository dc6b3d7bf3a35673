//===- Passes.h - Cascade passes --------------------------------*- C++ -*-===//
#ifndef CASCADE_PASSES_PASSES_H
#define CASCADE_PASSES_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace cascade {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// Applies the deferred-division rewrite everywhere it fits in `func`;
/// returns how many times it did.
unsigned deferDivisions(mlir::func::FuncOp func);

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace cascade

#endif
