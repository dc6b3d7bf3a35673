//===- CascadeDialect.cpp - The Einsum-cascade dialect --------------------===//
#include "dialects/Cascade/IR/CascadeDialect.h"
#include "dialects/Cascade/IR/CascadeOps.h"

using namespace mlir;
using namespace cascade;

#include "dialects/Cascade/IR/CascadeDialect.cpp.inc"

void CascadeDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Cascade/IR/CascadeOps.cpp.inc"
      >();
}
