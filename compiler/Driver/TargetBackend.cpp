//===- TargetBackend.cpp - The registry of targets ------------------------===//
#include "compiler/Driver/TargetBackend.h"
#include "compiler/Driver/Backends.h"
#include "compiler/Driver/Commands.h"
#include "compiler/Driver/Files.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringMap.h"

namespace cascade {

namespace {
/// Every backend, by `--target` name: the one place that knows the names.
const llvm::StringMap<std::unique_ptr<TargetBackend>> &registry() {
  static const llvm::StringMap<std::unique_ptr<TargetBackend>> backends = [] {
    llvm::StringMap<std::unique_ptr<TargetBackend>> m;
    for (llvm::StringRef cpu : {"host", "x86_64", "aarch64"})
      m[cpu] = createCpuBackend(cpu);
    m["cuda"] = createCudaBackend();
    m["webgpu"] = createWebGpuBackend();
    return m;
  }();
  return backends;
}
} // namespace

int TargetBackend::chooseStrategy(mlir::ModuleOp module,
                                  const CliOptions &o) const {
  mlir::PassManager pm(module.getContext());
  configureIRPrinting(pm, o.printing);
  if (mlir::failed(mlir::parsePassPipeline(gpuStrategy(), pm)) ||
      mlir::failed(pm.run(module)))
    return kExitError;
  return kExitOk;
}

const TargetBackend *lookupTargetBackend(const TargetOptions &t,
                                         std::string &error) {
  auto it = registry().find(t.target);
  if (it == registry().end()) {
    error = "unknown target '" + t.target +
            "' (expected host, x86_64, aarch64, cuda or webgpu)";
    return nullptr;
  }
  if (!t.arch.empty() && !it->second->takesArch()) {
    error = "--arch selects a CUDA architecture; it needs --target=cuda";
    return nullptr;
  }
  if (t.profile && !it->second->profiles()) {
    error = "--profile times the steps of CPU models (host, x86_64, "
            "aarch64); --target=" +
            t.target + " has no profiler yet";
    return nullptr;
  }
  return it->second.get();
}

int wrongEmitKind(llvm::StringRef kind) {
  if (kind == "loops" || kind == "llvm" || kind == "asm")
    llvm::errs() << "error: --emit=" << kind
                 << " shows CPU code; for --target=cuda use --emit=gpu "
                    "(kernels in the NVVM dialect) or --emit=ptx, for "
                    "--target=webgpu --emit=wgsl\n";
  else
    llvm::errs() << "error: --emit=" << kind
                 << " needs --target=" << (kind == "wgsl" ? "webgpu" : "cuda")
                 << "\n";
  return kExitUsage;
}

namespace {
/// Creates DIR (reporting failure).
bool makeOutputDir(const std::string &dir) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    llvm::errs() << dir << ": error: cannot create directory: " << ec.message()
                 << "\n";
    return false;
  }
  return true;
}
} // namespace

int writeArtifact(const std::string &dir,
                  llvm::function_ref<int(const TempDir &staging,
                                         std::vector<std::string> &names)>
                      build) {
  if (!makeOutputDir(dir))
    return kExitError;
  TempDir tmp(dir);
  if (!tmp.usable())
    return kExitError;
  std::vector<std::string> names;
  if (int rc = build(tmp, names))
    return rc;
  for (const std::string &name : names) {
    llvm::SmallString<256> dst(dir);
    llvm::sys::path::append(dst, name);
    if (std::error_code ec = llvm::sys::fs::rename(tmp.file(name), dst)) {
      llvm::errs() << dst << ": error: cannot write: " << ec.message() << "\n";
      return kExitError;
    }
    llvm::outs() << "wrote " << dst << "\n";
  }
  return kExitOk;
}

int writeArtifact(
    const std::string &dir,
    const std::vector<std::pair<std::string, std::string>> &files) {
  return writeArtifact(
      dir, [&](const TempDir &tmp, std::vector<std::string> &names) {
        for (const auto &[file, text] : files) {
          if (!writeFile(tmp.file(file), text))
            return (int)kExitError;
          names.push_back(file);
        }
        return (int)kExitOk;
      });
}

} // namespace cascade
