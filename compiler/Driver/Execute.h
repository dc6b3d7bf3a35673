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
/// runs after a warm-up and sets `medianMs`. A model compiled with
/// `--profile` is profiled over those runs (10 without `bench`), its table
/// in `profile`. Returns an exit code.
int executeInProcess(const CpuArtifact &art, std::vector<HostTensor> &args,
                     std::vector<HostTensor> &outputs, unsigned bench,
                     double &medianMs, std::string *profile = nullptr);

/// The same for a model of another architecture: links a standalone
/// executable and runs it under `emulator` (qemu-aarch64), passing the
/// tensors as .npy files.
int executeEmulated(const CpuArtifact &art,
                    const std::vector<std::string> &emulator,
                    const std::vector<HostTensor> &args,
                    std::vector<HostTensor> &outputs, unsigned bench,
                    double &medianMs, std::string *profile = nullptr);

/// Runs a CUDA model through the runtime's driver loader: writes the PTX,
/// cubin and manifest to a temporary folder and loads them. With `bench`,
/// `medianMs` is device time (the kernels, without copies). Returns 77
/// when no CUDA device can be used.
int executeCuda(const CudaArtifact &art, std::vector<HostTensor> &args,
                std::vector<HostTensor> &outputs, unsigned bench,
                double &medianMs);

/// How `cascade run --target=webgpu` reaches Dawn: node and the runtime's
/// folder (runtime/webgpu, with the npm package `webgpu` installed).
struct WebGpuRunner {
  std::string node, runtimeDir;
};

/// The JS runtime folder: $CASCADE_WEBGPU_RUNTIME, else the source tree's
/// or the installed copy.
std::string webGpuRuntimeDir();

/// The runtime module (cascade-webgpu.mjs) as text, or "" after a message.
std::string readWebGpuRuntimeModule();

/// Finds node and the installed `webgpu` package; false with `error` when
/// the run cannot happen here (the caller skips).
bool findWebGpuRunner(WebGpuRunner &runner, std::string &error);

/// Runs a WebGPU model through node and Dawn: writes the WGSL, the manifest
/// and the tensors to a temporary folder and runs the runtime's driver.
/// With `bench`, `medianMs` is the time of the dispatches (inputs already
/// on the device). Returns 77 when no adapter can be used.
int executeWebGpu(const WebGpuArtifact &art, const WebGpuRunner &runner,
                  const std::vector<HostTensor> &args,
                  std::vector<HostTensor> &outputs, unsigned bench,
                  double &medianMs);

} // namespace cascade

#endif
