//===- CpuBackend.cpp - The host, x86_64 and aarch64 targets --------------===//
#include "compiler/Driver/Backends.h"
#include "compiler/Driver/Commands.h"
#include "compiler/Driver/Execute.h"
#include "compiler/Driver/Files.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace cascade {

namespace {

/// A model compiled for a CPU: run in this process, or under the emulator
/// (qemu-aarch64) for another architecture.
class CpuModel : public CompiledModel {
public:
  CpuArtifact art;
  std::vector<std::string> emulator;
  int64_t scratch = 0;

  int64_t scratchBytes() const override { return scratch; }
  int execute(std::vector<HostTensor> &args, std::vector<HostTensor> &outputs,
              unsigned bench, double &medianMs) override {
    return art.machine.native ? executeInProcess(art, args, outputs, bench,
                                                 medianMs, &profile)
                              : executeEmulated(art, emulator, args, outputs,
                                                bench, medianMs, &profile);
  }
};

class CpuBackend : public TargetBackend {
public:
  explicit CpuBackend(llvm::StringRef name) : targetName(name.str()) {}

  llvm::StringRef name() const override { return targetName; }
  bool usesTuningDb() const override { return true; }
  bool profiles() const override { return true; }

  /// Runs the passes `addPasses` adds for the target's CPU on `module`;
  /// returns an exit code.
  static int runForMachine(
      ModuleOp module, const CliOptions &o,
      llvm::function_ref<void(OpPassManager &, const CpuMachine &)> addPasses) {
    FailureOr<CpuMachine> machine = resolveCpuMachine(module, o.target);
    if (failed(machine))
      return kExitError;
    PassManager pm(module.getContext());
    configureIRPrinting(pm, o.printing);
    addPasses(pm, *machine);
    return failed(pm.run(module)) ? kExitError : kExitOk;
  }

  int emit(ModuleOp module, const CliOptions &o, llvm::StringRef kind,
           std::string &out) const override {
    llvm::raw_string_ostream os(out);
    if (kind == "loops") {
      if (int rc = runForMachine(module, o, addLowerToLoopsPipeline))
        return rc;
      module.print(os);
      return kExitOk;
    }
    if (kind == "llvm" || kind == "asm") {
      CpuArtifact art;
      if (failed(compileForCpu(module, o.target, o.printing, art, true)))
        return kExitError;
      os << (kind == "llvm" ? art.llvmIR : art.assembly);
      return kExitOk;
    }
    return wrongEmitKind(kind);
  }

  int chooseStrategy(ModuleOp module, const CliOptions &o) const override {
    return runForMachine(module, o, addStrategyPipeline);
  }

  int compile(ModuleOp module, const CliOptions &o) const override {
    CpuArtifact art;
    if (failed(compileForCpu(module, o.target, o.printing, art, false)))
      return kExitError;
    std::string name = getModelFunction(module).getSymName().str();
    return writeArtifact(o.output, [&](const TempDir &tmp,
                                       std::vector<std::string> &files) {
      files = {name + ".o", "lib" + name + ".so", name + ".h", name + ".json"};
      std::string error;
      if (!writeFile(tmp.file(name + ".o"), art.object) ||
          !writeFile(tmp.file(name + ".h"),
                     buildHeader(module, llvm::sys::path::filename(o.model))) ||
          !writeFile(tmp.file(name + ".json"), art.manifest + "\n"))
        return (int)kExitError;
      if (!linkSharedLibrary(tmp.file(name + ".o"),
                             tmp.file("lib" + name + ".so"), art.machine,
                             error)) {
        llvm::errs() << "error: " << error << "\n";
        return (int)kExitError;
      }
      if (o.emit == "exe") {
        files.push_back(name);
        if (!linkExecutable(tmp.file(name + ".o"), tmp.file(name), art.machine,
                            error)) {
          llvm::errs() << "error: " << error << "\n";
          return (int)kExitError;
        }
      }
      return (int)kExitOk;
    });
  }

  int prepareRun(ModuleOp module, const CliOptions &o,
                 std::unique_ptr<CompiledModel> &out) const override {
    auto model = std::make_unique<CpuModel>();
    FailureOr<CpuMachine> machine = resolveCpuMachine(module, o.target);
    if (failed(machine))
      return kExitError;
    // A foreign architecture runs under an emulator: without one, the run
    // is skipped (exit 77) before any work.
    std::string error;
    if (!findEmulator(*machine, model->emulator, error)) {
      llvm::errs() << "error: " << error << "\n";
      return kExitSkip;
    }
    if (failed(compileForCpu(module, o.target, o.printing, model->art, false,
                             &model->scratch)))
      return kExitError;
    out = std::move(model);
    return kExitOk;
  }

private:
  std::string targetName;
};

} // namespace

std::unique_ptr<TargetBackend> createCpuBackend(llvm::StringRef name) {
  return std::make_unique<CpuBackend>(name);
}

} // namespace cascade
