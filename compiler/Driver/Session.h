//===- Session.h - A context for one command of the CLI ---------*- C++ -*-===//
#ifndef CASCADE_COMPILER_DRIVER_SESSION_H
#define CASCADE_COMPILER_DRIVER_SESSION_H

#include "compiler/Driver/Files.h"
#include "compiler/Frontend/ModelBuilder.h"
#include "compiler/Import/OnnxImport.h"
#include "compiler/Target/Target.h"
#include "dialects/Cascade/IR/CascadeDialect.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"

namespace cascade {

using mlir::Diagnostic;
using mlir::DiagnosticSeverity;
using mlir::DialectRegistry;
using mlir::MLIRContext;
using mlir::ModuleOp;
using mlir::OwningOpRef;
using mlir::SourceMgrDiagnosticHandler;

/// An MLIR context with the project's dialects and a diagnostic handler
/// that prints `file:line:col: error: message` with the source line.
struct Session {
  MLIRContext ctx;
  llvm::SourceMgr sourceMgr;
  std::unique_ptr<SourceMgrDiagnosticHandler> handler;
  unsigned errors = 0;
  /// `--strict`: the model's warnings are errors (printed as such, counted
  /// in `errors`).
  bool strict = false;

  /// For a `.onnx` model: the import, and the folder holding its
  /// initializers as a safetensors file while the command runs.
  std::optional<ImportedModel> imported;
  std::unique_ptr<TempDir> importDir;

  /// The folder weight files named by the model are relative to.
  std::string weightsDir(const std::string &modelPath) const {
    if (importDir)
      return std::string(importDir->path);
    return llvm::sys::path::parent_path(modelPath).str();
  }

  explicit Session(bool strict = false) : strict(strict) {
    DialectRegistry registry;
    mlir::registerAllDialects(registry);
    registry.insert<CascadeDialect>();
    ctx.appendDialectRegistry(registry);
    ctx.loadDialect<CascadeDialect, mlir::func::FuncDialect>();
    // Diagnostics point at the .ein source; the IR is not the user's text.
    ctx.printOpOnDiagnostic(false);
    handler = std::make_unique<SourceMgrDiagnosticHandler>(sourceMgr, &ctx);
    ctx.getDiagEngine().registerHandler([this](Diagnostic &d) {
      if (this->strict && d.getSeverity() == DiagnosticSeverity::Warning) {
        ++errors;
        handler->emitDiagnostic(d.getLocation(), d.str() + " [--strict]",
                                DiagnosticSeverity::Error);
        for (const Diagnostic &note : d.getNotes())
          handler->emitDiagnostic(note.getLocation(), note.str(),
                                  DiagnosticSeverity::Note);
        return mlir::success();
      }
      if (d.getSeverity() == DiagnosticSeverity::Error)
        ++errors;
      return mlir::failure(); // let the source manager handler print it
    });
  }

  /// Loads a .ein model (or cascade-level .mlir), with the schedule file
  /// `schedule` when given. Null after reporting.
  OwningOpRef<ModuleOp> load(const std::string &path,
                             const std::string &schedule = "",
                             const ModelOverrides &overrides = {},
                             const std::string &scheduleText = "",
                             const std::vector<std::string> &inputFlags = {}) {
    ModelOverrides sizes = overrides;
    if (llvm::StringRef(path).ends_with(".onnx"))
      return loadOnnx(path, schedule, sizes, scheduleText, inputFlags);
    return loadText(path, schedule, overrides, scheduleText);
  }

private:
  /// Imports an ONNX model in memory: its .ein text is parsed as a buffer
  /// named `PATH.ein`, its initializers are written to a temporary folder.
  OwningOpRef<ModuleOp> loadOnnx(const std::string &path,
                                 const std::string &schedule,
                                 ModelOverrides &sizes,
                                 const std::string &scheduleText,
                                 const std::vector<std::string> &inputFlags) {
    imported.emplace();
    std::string error;
    std::map<std::string, std::string> inputFiles;
    for (const std::string &flag : inputFlags)
      if (size_t eq = flag.find('='); eq != std::string::npos)
        inputFiles[flag.substr(0, eq)] = flag.substr(eq + 1);
    if (!importOnnx(path, sizes, inputFiles, *imported, error)) {
      llvm::errs() << error << "\n";
      ++errors;
      return nullptr;
    }
    if (!imported->safetensors.empty()) {
      importDir = std::make_unique<TempDir>();
      if (!importDir->usable() ||
          !writeFile(importDir->file(imported->weightsFile),
                     imported->safetensors)) {
        ++errors;
        return nullptr;
      }
    }
    auto module =
        loadText(path + ".ein", schedule, sizes, scheduleText, imported->ein);
    if (!module)
      return nullptr;
    // The graph's names for the inputs and outputs, and the shapes of
    // outputs the cascade holds split further.
    mlir::func::FuncOp f = getModelFunction(*module);
    mlir::Builder b(&ctx);
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      for (const ImportedTensor &t : imported->inputs)
        if (f.getArgAttrOfType<mlir::StringAttr>(i, attrs::kName).getValue() ==
            t.einName)
          f.setArgAttr(i, attrs::kExternalName, b.getStringAttr(t.onnxName));
    for (unsigned i = 0; i < f.getNumResults(); ++i)
      for (const ImportedTensor &t : imported->outputs)
        if (f.getResultAttrOfType<mlir::StringAttr>(i, attrs::kName)
                .getValue() == t.einName) {
          f.setResultAttr(i, attrs::kExternalName, b.getStringAttr(t.onnxName));
          f.setResultAttr(i, attrs::kExternalShape,
                          b.getDenseI64ArrayAttr(t.shape));
        }
    return module;
  }

  OwningOpRef<ModuleOp>
  loadText(const std::string &path, const std::string &schedule,
           const ModelOverrides &overrides, const std::string &scheduleText,
           const std::optional<std::string> &source = {}) {
    auto buffer =
        source ? llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>>(
                     llvm::MemoryBuffer::getMemBufferCopy(*source, path))
               : llvm::MemoryBuffer::getFileOrSTDIN(path, /*IsText=*/true);
    if (!buffer) {
      llvm::errs() << path << ": error: cannot read the model: "
                   << buffer.getError().message() << "\n";
      ++errors;
      return nullptr;
    }
    // MLIR input: a .mlir file, or text that starts like printed IR.
    llvm::StringRef text = (*buffer)->getBuffer().ltrim();
    bool isMlir = llvm::StringRef(path).ends_with(".mlir") ||
                  text.starts_with("module") || text.starts_with("func.func") ||
                  text.starts_with("\"builtin.module\"") ||
                  llvm::Regex("^#[A-Za-z_][A-Za-z0-9_.$-]* = ").match(text);
    sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
    OwningOpRef<ModuleOp> module;
    if (isMlir) {
      module = mlir::parseSourceFile<ModuleOp>(sourceMgr, &ctx);
      if (module && mlir::failed(mlir::verify(*module)))
        module = nullptr;
    } else {
      llvm::StringRef stem = llvm::sys::path::stem(path);
      std::optional<unsigned> scheduleBuffer;
      if (!schedule.empty()) {
        auto file = llvm::MemoryBuffer::getFile(schedule, /*IsText=*/true);
        if (!file) {
          llvm::errs() << schedule << ": error: cannot read the schedule: "
                       << file.getError().message() << "\n";
          ++errors;
          return nullptr;
        }
        scheduleBuffer =
            sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
      } else if (!scheduleText.empty()) {
        // A schedule from the tuning database.
        scheduleBuffer =
            sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(
                                             scheduleText, "<tuning database>"),
                                         llvm::SMLoc());
      }
      module =
          buildModelFromSource(sourceMgr, &ctx, stem == "-" ? "model" : stem,
                               scheduleBuffer, overrides);
    }
    if (module && !getModelFunction(*module)) {
      mlir::emitError(module->getLoc(), "no model function (func.func with "
                                        "cascade.model) in the input");
      return nullptr;
    }
    return module;
  }
};

} // namespace cascade

#endif
