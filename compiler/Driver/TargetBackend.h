//===- TargetBackend.h - One interface per --target -------------*- C++ -*-===//
//
// What `cascade opt`, `compile`, `run` and `tune` do that depends on the
// target lives behind `TargetBackend`: the driver looks the backend up by
// the `--target` name and never compares target names itself. The registry
// (TargetBackend.cpp) is the one place that knows them; each backend is a
// thin final step over the shared cascade-level pipeline (CPU: LLVM object
// code for x86_64 or aarch64; CUDA: PTX; WebGPU: WGSL).
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_COMPILER_DRIVER_TARGETBACKEND_H
#define CASCADE_COMPILER_DRIVER_TARGETBACKEND_H

#include "compiler/Driver/Inputs.h"
#include "compiler/Target/Target.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include <memory>
#include <string>
#include <vector>

namespace cascade {

struct CliOptions;

/// A model compiled for `cascade run`.
class CompiledModel {
public:
  virtual ~CompiledModel() = default;
  /// The memory the runtime and kernels allocate beyond the tensors.
  virtual int64_t scratchBytes() const = 0;
  /// `--check`'s tolerance (LANGUAGE.md section 8).
  virtual double tolerance() const { return 1e-4; }
  /// Runs the model once into `outputs`, then `bench` timed runs after a
  /// warm-up (setting `medianMs`). Returns an exit code (77: no device).
  /// A model compiled with `--profile` then sets `profile` to its table.
  virtual int execute(std::vector<HostTensor> &args,
                      std::vector<HostTensor> &outputs, unsigned bench,
                      double &medianMs) = 0;
  std::string profile;
};

class TargetBackend {
public:
  virtual ~TargetBackend() = default;
  /// The `--target` name.
  virtual llvm::StringRef name() const = 0;
  /// Whether `--arch` (a GPU architecture) applies.
  virtual bool takesArch() const { return false; }
  /// Whether `--profile` (time per step) applies.
  virtual bool profiles() const { return false; }
  /// Whether schedules from the tuning database apply (they are tuned on
  /// this machine's CPU).
  virtual bool usesTuningDb() const { return false; }
  /// Why `cascade tune` cannot measure this target here; empty when it can.
  virtual std::string tuningUnavailable() const { return ""; }
  /// `cascade opt --emit=KIND` for the kinds past the cascade level
  /// (`ein` and `mlir` are the driver's): the text in `out`. Returns an
  /// exit code; a kind of another target is a usage error that names it.
  virtual int emit(mlir::ModuleOp module, const CliOptions &o,
                   llvm::StringRef kind, std::string &out) const = 0;
  /// Decides how `module` (cascade level, the default rewrites done)
  /// executes on this target, as compiling it would: afterwards every
  /// einsum carries its `#cascade.lowering` configuration (`cascade
  /// analyze` prints them). Returns an exit code. The default runs the GPU
  /// targets' strategy.
  virtual int chooseStrategy(mlir::ModuleOp module, const CliOptions &o) const;
  /// `cascade compile`: writes the artifact into `o.output`, through a
  /// staging folder so that a failure leaves the user's files as they were.
  virtual int compile(mlir::ModuleOp module, const CliOptions &o) const = 0;
  /// `cascade run`: compiles `module` for this machine (or its emulator or
  /// device). Returns an exit code (77 when the device or emulator is not
  /// here, checked before compiling).
  virtual int prepareRun(mlir::ModuleOp module, const CliOptions &o,
                         std::unique_ptr<CompiledModel> &out) const = 0;
};

/// The backend of `--target=NAME`, or null (with `error`) for an unknown
/// name or options that do not fit it (`--arch` without CUDA).
const TargetBackend *lookupTargetBackend(const TargetOptions &t,
                                         std::string &error);

struct TempDir;

/// Builds an artifact in a staging folder inside DIR (`build` writes its
/// files there and names them), then moves the files into DIR, so that a
/// failure leaves the user's files as they were. Returns an exit code.
int writeArtifact(const std::string &dir,
                  llvm::function_ref<int(const TempDir &staging,
                                         std::vector<std::string> &names)>
                      build);
/// The same for files held in memory (name, contents).
int writeArtifact(
    const std::string &dir,
    const std::vector<std::pair<std::string, std::string>> &files);

} // namespace cascade

#endif
