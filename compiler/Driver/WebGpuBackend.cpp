//===- WebGpuBackend.cpp - The webgpu target ------------------------------===//
#include "compiler/Driver/Backends.h"
#include "compiler/Driver/Commands.h"
#include "compiler/Driver/Execute.h"

using namespace mlir;

namespace cascade {

namespace {

class WebGpuModel : public CompiledModel {
public:
  WebGpuArtifact art;
  WebGpuRunner runner;

  int64_t scratchBytes() const override { return art.scratchBytes; }
  /// Tensors stored as f16 (`--features=+f16`) keep about 3 decimal digits.
  double tolerance() const override { return art.f16 ? 1e-2 : 1e-4; }
  int execute(std::vector<HostTensor> &args, std::vector<HostTensor> &outputs,
              unsigned bench, double &medianMs) override {
    return executeWebGpu(art, runner, args, outputs, bench, medianMs);
  }
};

class WebGpuBackend : public TargetBackend {
public:
  llvm::StringRef name() const override { return "webgpu"; }
  std::string tuningUnavailable() const override {
    return "tuning for --target=webgpu is not available yet (no GPU on this "
           "machine to measure on)";
  }

  int emit(ModuleOp module, const CliOptions &o, llvm::StringRef kind,
           std::string &out) const override {
    if (kind != "wgsl")
      return wrongEmitKind(kind);
    WebGpuArtifact art;
    if (failed(compileForWebGpu(module, o.target, o.printing, art)))
      return kExitError;
    llvm::raw_string_ostream os(out);
    for (const auto &[file, code] : art.wgsl)
      os << "// ----- " << file << "\n" << code;
    return kExitOk;
  }

  /// One WGSL file per kernel, the manifest and the JS runtime module that
  /// runs them.
  int compile(ModuleOp module, const CliOptions &o) const override {
    if (o.emit == "exe") {
      llvm::errs() << "error: --emit=exe is for CPU targets; a WebGPU model "
                      "runs through the JS runtime (cascade-webgpu.mjs)\n";
      return kExitUsage;
    }
    WebGpuArtifact art;
    if (failed(compileForWebGpu(module, o.target, o.printing, art)))
      return kExitError;
    std::string runtime = readWebGpuRuntimeModule();
    if (runtime.empty())
      return kExitError;
    std::string name = getModelFunction(module).getSymName().str();
    std::vector<std::pair<std::string, std::string>> files = art.wgsl;
    files.push_back({name + ".json", art.manifest + "\n"});
    files.push_back({"cascade-webgpu.mjs", runtime});
    return writeArtifact(o.output, files);
  }

  int prepareRun(ModuleOp module, const CliOptions &o,
                 std::unique_ptr<CompiledModel> &out) const override {
    // Node, the `webgpu` package and an adapter, or a skip (exit 77)
    // before any work.
    auto model = std::make_unique<WebGpuModel>();
    std::string error;
    if (!findWebGpuRunner(model->runner, error)) {
      llvm::errs() << "error: " << error << "\n";
      return kExitSkip;
    }
    if (failed(compileForWebGpu(module, o.target, o.printing, model->art)))
      return kExitError;
    out = std::move(model);
    return kExitOk;
  }
};

} // namespace

std::unique_ptr<TargetBackend> createWebGpuBackend() {
  return std::make_unique<WebGpuBackend>();
}

} // namespace cascade
