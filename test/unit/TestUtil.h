//===- TestUtil.h - Helpers shared by the unit tests ------------*- C++ -*-===//
#ifndef CASCADE_TEST_UNIT_TESTUTIL_H
#define CASCADE_TEST_UNIT_TESTUTIL_H

#include "compiler/Frontend/ModelBuilder.h"
#include "compiler/Interpreter/Interpreter.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include <string>

namespace cascade::test {

/// Parses `source` as a .ein file; collects diagnostics in `diags`.
struct Parsed {
  mlir::MLIRContext ctx;
  llvm::SourceMgr sm;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string diags;

  explicit Parsed(const std::string &source) {
    ctx.printOpOnDiagnostic(false);
    sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(source, "t.ein"),
                          llvm::SMLoc());
    mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
      auto loc = mlir::dyn_cast<mlir::FileLineColLoc>(d.getLocation());
      if (loc)
        diags += std::to_string(loc.getLine()) + ":" +
                 std::to_string(loc.getColumn()) + ": ";
      diags += d.str() + "\n";
      return mlir::success();
    });
    module = buildModelFromSource(sm, &ctx, "t");
  }

  mlir::func::FuncOp func() {
    for (auto f : module->getOps<mlir::func::FuncOp>())
      return f;
    return {};
  }

  /// Runs the reference interpreter on `args`; fails the test on error.
  std::vector<RefTensor> run(const std::vector<RefTensor> &args) {
    std::string err;
    auto out = interpret(func(), args, err);
    if (mlir::failed(out))
      return {};
    return *out;
  }
};

} // namespace cascade::test

#endif
