//===- Execute.h - Running compiled models for `cascade run` ----*- C++ -*-===//
#ifndef CASCADE_COMPILER_DRIVER_EXECUTE_H
#define CASCADE_COMPILER_DRIVER_EXECUTE_H

#include "compiler/Driver/Inputs.h"
#include "compiler/Target/Target.h"
#include <string>
#include <vector>

namespace cascade {

/// Runs a model compiled for this machine in this process (loaded as a
/// shared library), filling `outputs`; with `bench` > 0 then times that many
/// runs after a warm-up and sets `medianMs`. Returns an exit code.
int executeInProcess(const CpuArtifact &art, std::vector<HostTensor> &args,
                     std::vector<HostTensor> &outputs, unsigned bench,
                     double &medianMs);

/// The same for a model of another architecture: links a standalone
/// executable and runs it under `emulator` (qemu-aarch64), passing the
/// tensors as .npy files.
int executeEmulated(const CpuArtifact &art,
                    const std::vector<std::string> &emulator,
                    const std::vector<HostTensor> &args,
                    std::vector<HostTensor> &outputs, unsigned bench,
                    double &medianMs);

/// Runs a CUDA model through the runtime's driver loader: writes the PTX,
/// cubin and manifest to a temporary folder and loads them. With `bench`,
/// `medianMs` is device time (the kernels, without copies). Returns 77
/// when no CUDA device can be used.
int executeCuda(const CudaArtifact &art, std::vector<HostTensor> &args,
                std::vector<HostTensor> &outputs, unsigned bench,
                double &medianMs);

} // namespace cascade

#endif
