//===- cascade-opt.cpp - mlir-opt with the Cascade dialect and passes -----===//
//
// Runs any pass of the project (and every upstream one) on an .mlir file,
// as mlir-opt does: `cascade-opt in.mlir --cascade-defer-division`. The
// per-pass lit tests (test/<family>/<pass>.mlir) use it with
// `-split-input-file` and `-verify-diagnostics`; `cascade opt` is the user's
// driver for .ein models.
//
//===----------------------------------------------------------------------===//
#include "dialects/Cascade/IR/CascadeDialect.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "passes/Passes.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  cascade::registerCascadePasses();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<cascade::CascadeDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv,
                        "Cascade optimizer driver (mlir-opt with the Cascade "
                        "dialect and passes)\n",
                        registry));
}
