//===- CudaBackend.cpp - The cuda target ----------------------------------===//
#include "cascade/runtime.h"
#include "compiler/Driver/Backends.h"
#include "compiler/Driver/Commands.h"
#include "compiler/Driver/Execute.h"

using namespace mlir;

namespace cascade {

namespace {

class CudaModel : public CompiledModel {
public:
  CudaArtifact art;

  int64_t scratchBytes() const override { return art.scratchBytes; }
  int execute(std::vector<HostTensor> &args, std::vector<HostTensor> &outputs,
              unsigned bench, double &medianMs) override {
    return executeCuda(art, args, outputs, bench, medianMs);
  }
};

class CudaBackend : public TargetBackend {
public:
  llvm::StringRef name() const override { return "cuda"; }
  bool takesArch() const override { return true; }
  std::string tuningUnavailable() const override {
    return "tuning for --target=cuda is not available yet (no GPU on this "
           "machine to measure on)";
  }

  int emit(ModuleOp module, const CliOptions &o, llvm::StringRef kind,
           std::string &out) const override {
    if (kind != "gpu" && kind != "ptx")
      return wrongEmitKind(kind);
    CudaArtifact art;
    if (failed(compileForCuda(module, o.target, o.printing, art)))
      return kExitError;
    out = kind == "ptx" ? art.ptx : art.kernelIR;
    return kExitOk;
  }

  /// The PTX, the cubin when ptxas is installed, and the manifest the
  /// runtime launches from.
  int compile(ModuleOp module, const CliOptions &o) const override {
    if (o.emit == "exe") {
      llvm::errs() << "error: --emit=exe is for CPU targets; a CUDA model "
                      "runs through the runtime (cascade_cuda_model_load)\n";
      return kExitUsage;
    }
    CudaArtifact art;
    if (failed(compileForCuda(module, o.target, o.printing, art)))
      return kExitError;
    std::string name = getModelFunction(module).getSymName().str();
    std::vector<std::pair<std::string, std::string>> files = {
        {name + ".ptx", art.ptx}, {name + ".json", art.manifest + "\n"}};
    if (!art.cubin.empty())
      files.push_back({name + "." + art.machine.arch + ".cubin", art.cubin});
    else
      llvm::errs() << "note: ptxas not found: wrote PTX only (the driver "
                      "compiles it when the model is loaded)\n";
    return writeArtifact(o.output, files);
  }

  int prepareRun(ModuleOp module, const CliOptions &o,
                 std::unique_ptr<CompiledModel> &out) const override {
    // Without a device the run is skipped (exit 77) before any work.
    if (cascade_status st = cascade_cuda_available(); st != CASCADE_OK) {
      llvm::errs() << "error: " << cascade_last_error() << "\n";
      return st == CASCADE_UNAVAILABLE ? kExitSkip : kExitError;
    }
    auto model = std::make_unique<CudaModel>();
    if (failed(compileForCuda(module, o.target, o.printing, model->art)))
      return kExitError;
    out = std::move(model);
    return kExitOk;
  }
};

} // namespace

std::unique_ptr<TargetBackend> createCudaBackend() {
  return std::make_unique<CudaBackend>();
}

} // namespace cascade
