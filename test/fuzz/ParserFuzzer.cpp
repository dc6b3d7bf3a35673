//===- ParserFuzzer.cpp - libFuzzer target for the .ein frontend ----------===//
//
// Feeds arbitrary bytes through the whole frontend: lexer, parser, model
// builder, verifier and, for models that build, the .ein printer (whose
// output must parse again) and the reference interpreter on small models.
// Any crash, sanitizer report or failed round trip is a bug.
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/EinPrinter.h"
#include "compiler/Frontend/ModelBuilder.h"
#include "compiler/Interpreter/Interpreter.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include <cstdlib>

using namespace mlir;

static OwningOpRef<ModuleOp> build(MLIRContext &ctx, llvm::SourceMgr &sm,
                                   llvm::StringRef text) {
  sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.ein"),
                        llvm::SMLoc());
  return cascade::buildModelFromSource(sm, &ctx, "fuzz");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096)
    return 0;
  MLIRContext ctx;
  ctx.printOpOnDiagnostic(false);
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  llvm::SourceMgr sm;
  OwningOpRef<ModuleOp> module =
      build(ctx, sm, llvm::StringRef((const char *)data, size));
  if (!module)
    return 0;
  std::string text;
  llvm::raw_string_ostream os(text);
  if (failed(cascade::printAsEin(*module, os)))
    std::abort();
  llvm::SourceMgr sm2;
  if (!build(ctx, sm2, text))
    std::abort(); // a printed cascade must parse again

  // Interpret small models on zeros: every verified cascade must run.
  for (auto f : module->getOps<func::FuncOp>()) {
    int64_t work = 0;
    for (auto op : f.getOps<cascade::EinsumOp>()) {
      int64_t n = 1;
      for (int64_t e : op.getExtents())
        n = std::min<int64_t>(n * e, int64_t(1) << 40);
      work += n;
    }
    std::vector<cascade::RefTensor> args;
    for (Type t : f.getArgumentTypes()) {
      auto tt = cast<RankedTensorType>(t);
      int64_t n = 1;
      for (int64_t d : tt.getShape())
        n = std::min<int64_t>(n * d, int64_t(1) << 40);
      work += n;
      if (work > 100000)
        return 0;
      args.push_back(
          {std::vector<int64_t>(tt.getShape().begin(), tt.getShape().end()),
           std::vector<double>(n, 0.5)});
    }
    if (work > 100000)
      return 0;
    std::string err;
    if (failed(cascade::interpret(f, args, err)))
      std::abort();
  }
  return 0;
}
