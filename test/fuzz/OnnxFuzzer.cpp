//===- OnnxFuzzer.cpp - libFuzzer target for the ONNX importer ------------===//
//
// Feeds arbitrary bytes to the importer as an ONNX model (protobuf parse,
// tensor decoding, every operator's translation, views), and the .ein text
// of a model that imports to the frontend. A crash or sanitizer report is
// a bug; an import or a build that fails with a message is not.
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/ModelBuilder.h"
#include "compiler/Import/OnnxImport.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536)
    return 0;
  std::map<std::string, double> sizes = {{"batch", 2}, {"sequence", 8}};
  cascade::ImportedModel model;
  std::string error;
  if (!cascade::importOnnxBytes(std::string((const char *)data, size),
                                "fuzz.onnx", sizes, {}, model, error))
    return 0;
  MLIRContext ctx;
  ctx.printOpOnDiagnostic(false);
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  llvm::SourceMgr sm;
  sm.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(model.ein, "fuzz.onnx.ein"),
      llvm::SMLoc());
  (void)cascade::buildModelFromSource(sm, &ctx, "fuzz", std::nullopt, sizes);
  return 0;
}
