//===- CascadeDialect.h - The Einsum-cascade dialect ------------*- C++ -*-===//
#ifndef CASCADE_DIALECT_CASCADE_IR_CASCADEDIALECT_H
#define CASCADE_DIALECT_CASCADE_IR_CASCADEDIALECT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "dialects/Cascade/IR/CascadeDialect.h.inc"

#endif
