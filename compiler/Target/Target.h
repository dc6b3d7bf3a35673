//===- Target.h - Targets, pipelines and artifacts --------------*- C++ -*-===//
#ifndef CASCADE_COMPILER_TARGET_TARGET_H
#define CASCADE_COMPILER_TARGET_TARGET_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class Module;
class LLVMContext;
} // namespace llvm

namespace cascade {

/// How to report the IR between stages.
struct IRPrinting {
  bool afterAll = false;
  bool afterChange = false;
  std::string dumpDir; // one file per pass when non-empty
};

/// What `--target/--cpu/--features/--arch` select.
struct TargetOptions {
  std::string target = "host"; // host | x86_64 | aarch64 | cuda | webgpu
  std::string cpu;             // empty: the host's CPU (x86_64/host)
  std::string features;        // e.g. "+avx2,-avx512f"
  std::string arch;            // cuda: sm_80 | sm_90 (default sm_90)
  // CPU targets: lower with the GPU targets' loop nests (one parallel loop
  // per kernel, collapsed and tiled by blocks) to test that mapping here.
  bool gpuLoops = false;
  // Time each step of the model (`--profile`; cascade-profile-steps).
  bool profile = false;
  // L2 cache of one core in bytes (`--l2-cache`); 0: the host's when
  // compiling for it, else 1 MiB.
  int64_t l2Bytes = 0;
};

/// The GPU code is generated for (`--arch`), and how kernels are shaped.
struct GpuMachine {
  std::string arch = "sm_90";
  std::string ptxFeatures; // PTX ISA version, e.g. "+ptx80"
  int64_t blockSize = 256; // threads per block
};

/// Resolves `--target=cuda --arch=...`; reports problems on `anchor`.
mlir::FailureOr<GpuMachine> resolveGpuMachine(mlir::Operation *anchor,
                                              const TargetOptions &t);

/// The result of compiling for CUDA: one PTX module, a cubin when ptxas is
/// installed, and the manifest the runtime launches the kernels from.
struct CudaArtifact {
  GpuMachine machine;
  std::string ptx, cubin, manifest;
  std::string kernelIR; // the NVVM-level module, for --emit=gpu
  bool ptxasFound = false;
  int64_t scratchBytes = 0;
  size_t numKernels = 0;
};

/// Lowers `module` (cascade level; not modified) to PTX kernels and their
/// launch manifest, and assembles the PTX with ptxas when it is installed.
mlir::LogicalResult compileForCuda(mlir::ModuleOp module,
                                   const TargetOptions &t,
                                   const IRPrinting &printing,
                                   CudaArtifact &out);

/// The ptxas to assemble with: $CASCADE_PTXAS, else ptxas on PATH, else
/// /usr/local/cuda/bin/ptxas; empty if none.
std::string findPtxas();

/// The machine code is generated for, resolved from `TargetOptions`, and
/// what the lowering makes of it.
struct CpuMachine {
  std::string triple, cpu, features;
  std::string arch;          // "x86_64" or "aarch64": the manifest's target
  bool native = true;        // runs on this machine (else: under an emulator)
  int64_t registers = 16;    // vector registers, in 256-bit units
  int64_t l2Bytes = 1 << 20; // L2 cache of one core
  bool kernels = true;       // register-tiled contraction kernels
  bool openmp = true;        // scf.parallel on libomp's thread pool
  bool scalable = false;     // SVE: vector-length-agnostic loops
  bool gpuLoops = false;     // the CUDA target's loop nests, run on this CPU
  bool profile = false;      // time each step (cascade-profile-steps)
};

/// A size in bytes: a positive count with an optional K or M suffix
/// (powers of 2, either case), as `--l2-cache` and Linux's sysfs write it.
std::optional<int64_t> parseByteSize(llvm::StringRef text);

/// Resolves `--target/--cpu/--features` (host: this machine's CPU and
/// features), checking the CPU and feature names against LLVM's tables.
/// Reports problems on `anchor`.
mlir::FailureOr<CpuMachine> resolveCpuMachine(mlir::Operation *anchor,
                                              const TargetOptions &t);

/// Applies IR printing options to a pass manager.
void configureIRPrinting(mlir::PassManager &pm, const IRPrinting &printing);

/// The textual pipeline that takes cascade-level IR to the GPU targets'
/// loops: one scf.parallel per kernel, collapsed and tiled into blocks of
/// `blockSize` threads; with `registerTile`, each thread computes a
/// `registerTile`-square tile of outputs (cascade-gpu-register-tile).
std::string gpuLoopsPipeline(int64_t blockSize, int64_t registerTile = 0);
/// The GPU targets' strategy (cascade-choose-strategy's options), the first
/// pass of gpuLoopsPipeline.
std::string gpuStrategy();

/// The result of compiling for WebGPU: one WGSL module per kernel and the
/// manifest the JS runtime dispatches them from.
struct WebGpuArtifact {
  std::vector<std::pair<std::string, std::string>> wgsl; // file, code
  std::string manifest;
  int64_t scratchBytes = 0;
  bool f16 = false;
};

/// Lowers `module` (cascade level; not modified) to WGSL kernels and their
/// dispatch manifest. `--features=+f16` stores tensors as f16.
mlir::LogicalResult compileForWebGpu(mlir::ModuleOp module,
                                     const TargetOptions &t,
                                     const IRPrinting &printing,
                                     WebGpuArtifact &out);

/// Adds the passes that decide how the cascade executes on `machine`
/// (layers outlined, contractions oriented, then cascade-choose-strategy):
/// every einsum then carries its `#cascade.lowering` configuration.
void addStrategyPipeline(mlir::OpPassManager &pm, const CpuMachine &machine);
/// Adds the passes that take cascade-level IR to loops over memrefs, with
/// kernels sized for `machine`: the strategy, then the lowering.
void addLowerToLoopsPipeline(mlir::OpPassManager &pm,
                             const CpuMachine &machine);
/// Adds the passes that take loop-level IR to the LLVM dialect.
void addLoopsToLLVMPipeline(mlir::OpPassManager &pm, const CpuMachine &machine);

/// Peak bytes the lowered model allocates beyond its arguments.
int64_t computeScratchBytes(mlir::ModuleOp loopLevel);

/// The target-independent part of a manifest: format, model, function and
/// the signature (inputs, weights, outputs).
llvm::json::Object manifestBase(mlir::ModuleOp module);
/// The JSON manifest of the (cascade-level) model in `module`; `profile`
/// lists the timed steps of a profiled build (cascade.profile_steps).
std::string buildManifest(mlir::ModuleOp module, const CpuMachine &m,
                          int64_t scratchBytes,
                          mlir::ArrayAttr profile = nullptr);
/// The C header declaring the model's entry points.
std::string buildHeader(mlir::ModuleOp module, llvm::StringRef sourceName);

/// The result of compiling for a CPU: an object file in memory and the
/// textual forms on request.
struct CpuArtifact {
  CpuMachine machine;
  std::string object;
  std::string manifest; // the JSON embedded in the object
  std::string llvmIR;   // after optimization, when asked for
  std::string assembly;
};

/// Lowers `module` (cascade level; not modified) through MLIR and LLVM to
/// native code. Emits the generic entry `cascade_entry` and the manifest
/// symbol `cascade_manifest` next to `cascade_<model>`.
mlir::LogicalResult compileForCpu(mlir::ModuleOp module, const TargetOptions &t,
                                  const IRPrinting &printing, CpuArtifact &out,
                                  bool wantText,
                                  int64_t *scratchBytes = nullptr);

/// Links `objectPath` into a shared library / standalone executable.
bool linkSharedLibrary(const std::string &objectPath,
                       const std::string &outPath, const CpuMachine &m,
                       std::string &error);
bool linkExecutable(const std::string &objectPath, const std::string &outPath,
                    const CpuMachine &m, std::string &error);

/// The emulator that runs `m`'s programs on this machine (qemu-aarch64),
/// with the arguments before the program; empty if `m` runs natively.
/// Fails with a message when the emulator is needed but not installed.
bool findEmulator(const CpuMachine &m, std::vector<std::string> &command,
                  std::string &error);

/// The model function of a module (the one marked `cascade.model`).
mlir::func::FuncOp getModelFunction(mlir::ModuleOp module);

} // namespace cascade

#endif
