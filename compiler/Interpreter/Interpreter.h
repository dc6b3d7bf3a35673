//===- Interpreter.h - The float64 reference interpreter --------*- C++ -*-===//
//
// The oracle of every numerical test: evaluates a verified cascade exactly
// as LANGUAGE.md defines it, point by point, in double precision. It is
// deliberately simple (no tiling, no reordering beyond the definition).
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_COMPILER_INTERPRETER_INTERPRETER_H
#define CASCADE_COMPILER_INTERPRETER_INTERPRETER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include <string>
#include <vector>

namespace cascade {

struct RefTensor {
  std::vector<int64_t> shape;
  std::vector<double> data;
};

/// Scalar semantics shared with code generation (LANGUAGE.md section 3).
double refAdd(double a, double b);
double refDiv(double a, double b);
double refUnary(llvm::StringRef fn, double x);
double refBinary(llvm::StringRef fn, double a, double b);

/// Runs model function `f` (cascade level) on `args` (one per function
/// argument, in order) and returns its results in order. Fails with a
/// message in `error` when an argument has the wrong shape.
mlir::FailureOr<std::vector<RefTensor>>
interpret(mlir::func::FuncOp f, const std::vector<RefTensor> &args,
          std::string &error);

} // namespace cascade

#endif
