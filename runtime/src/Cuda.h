//===- Cuda.h - The CUDA part of the runtime --------------------*- C++ -*-===//
//
// Internal interface between Model.cpp and Cuda.cpp; not installed.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_RUNTIME_CUDA_H
#define CASCADE_RUNTIME_CUDA_H

#include "Internal.h"

#include <string>

namespace cascade {
namespace rt {

struct CudaModel;

/// CASCADE_OK when a CUDA device can be used; CASCADE_UNAVAILABLE ("no CUDA
/// device: ...") without a driver, with the toolkit's stub driver or with
/// no device.
cascade_status cudaAvailable();

/// Reads and validates the manifest at `manifestPath`, loads its cubin or
/// PTX and allocates the device buffers.
cascade_status cudaLoad(const std::string &manifestPath, Manifest &manifest,
                        CudaModel *&out);

/// One run on host buffers (inputs, weights, outputs as in
/// cascade_model_run).
cascade_status cudaRun(CudaModel &m, void *const *buffers);

/// Median over `runs` of the launches alone (device time, CUDA events),
/// on the data of the last run.
cascade_status cudaTime(CudaModel &m, int runs, double *medianMs);

/// "NVIDIA H100 80GB HBM3 (sm_90, loaded from cubin)".
std::string cudaDeviceName(const CudaModel &m);

void cudaFree(CudaModel *m);

} // namespace rt
} // namespace cascade

#endif
