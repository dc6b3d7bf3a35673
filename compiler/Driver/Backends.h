//===- Backends.h - The backends behind the registry ------------*- C++ -*-===//
#ifndef CASCADE_COMPILER_DRIVER_BACKENDS_H
#define CASCADE_COMPILER_DRIVER_BACKENDS_H

#include "compiler/Driver/TargetBackend.h"

namespace cascade {

/// `host`, `x86_64` and `aarch64`: native code through MLIR and LLVM,
/// run in process or under qemu.
std::unique_ptr<TargetBackend> createCpuBackend(llvm::StringRef name);
/// `cuda`: PTX kernels, run through the CUDA driver.
std::unique_ptr<TargetBackend> createCudaBackend();
/// `webgpu`: WGSL kernels, run through node and Dawn.
std::unique_ptr<TargetBackend> createWebGpuBackend();

/// The usage error for `--emit=KIND` on a target that does not produce it,
/// naming the target that does.
int wrongEmitKind(llvm::StringRef kind);

} // namespace cascade

#endif
