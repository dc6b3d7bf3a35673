//===- CascadeAttrs.h - The lowering configuration --------------*- C++ -*-===//
#ifndef CASCADE_DIALECT_CASCADE_IR_CASCADEATTRS_H
#define CASCADE_DIALECT_CASCADE_IR_CASCADEATTRS_H

#include "dialects/Cascade/IR/CascadeDialect.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "dialects/Cascade/IR/CascadeEnums.h.inc"

namespace cascade {
/// A list of integers in brackets (`[6, 2, 8]`), for attribute parameters.
void printBracketedInts(mlir::AsmPrinter &printer,
                        llvm::ArrayRef<int64_t> values);
mlir::FailureOr<llvm::SmallVector<int64_t>>
parseBracketedInts(mlir::AsmParser &parser);
} // namespace cascade

#define GET_ATTRDEF_CLASSES
#include "dialects/Cascade/IR/CascadeAttrs.h.inc"

#endif
