//===- Inputs.h - Tensors for `cascade run` ---------------------*- C++ -*-===//
#ifndef CASCADE_COMPILER_DRIVER_INPUTS_H
#define CASCADE_COMPILER_DRIVER_INPUTS_H

#include "cascade/runtime.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include <cstdint>
#include <map>
#include <new>
#include <string>
#include <vector>

namespace cascade {

/// Allocates through cascade_alloc: on a 64-byte boundary, so that the
/// kernels' full-width vector loads of a tensor never straddle two cache
/// lines (a GEMM reading a 16-byte-aligned weight ran 15% slower).
template <typename T> struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <typename U> CacheLineAllocator(const CacheLineAllocator<U> &) {}
  T *allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T))
      throw std::bad_array_new_length();
    if (void *p = cascade_alloc(n * sizeof(T)))
      return static_cast<T *>(p);
    throw std::bad_alloc();
  }
  void deallocate(T *p, size_t) { cascade_free(p); }
  bool operator==(const CacheLineAllocator &) const { return true; }
};

/// The elements of a tensor held by the CLI.
using TensorData = std::vector<float, CacheLineAllocator<float>>;

/// One f32 tensor held by the CLI.
struct HostTensor {
  std::string name, role;
  std::vector<int64_t> shape;
  TensorData data;
  /// An imported model's tensor as the user sees it (Session::loadOnnx):
  /// the ONNX name (what `--input` takes), the file stem it is written
  /// under, and the shape it is written with. Empty: `name` and `shape`.
  std::string external, file;
  std::vector<int64_t> fileShape;
  std::string userName() const { return external.empty() ? name : external; }
};

/// Sets `t`'s name and, for an imported model, its external name, file and
/// shape, from argument `i` of `model` (or result `i` with `result`).
void nameTensor(mlir::func::FuncOp model, unsigned i, bool result,
                HostTensor &t);

/// Where weights come from: `--weights FILE` (replaces every weight's file)
/// and the folder of the `.ein` file (declared files are relative to it).
struct WeightFiles {
  std::string override;
  std::string modelDir;
};

/// Builds the model's argument tensors (inputs, then weights, in function
/// order): from `--input NAME=FILE.npy`, else a weight from its safetensors
/// file (converted to f32), else random (seeded) when allowed.
/// Reports problems as `FILE: error: ...` on stderr. Returns an exit code:
/// 0, 1 for an unreadable or mis-shaped file, 2 for a bad `--input` flag or
/// a missing value.
int prepareArguments(mlir::func::FuncOp model,
                     const std::vector<std::string> &inputFlags,
                     bool randomInputs, uint64_t seed,
                     const WeightFiles &weightFiles,
                     std::vector<HostTensor> &args,
                     std::vector<std::string> &generated);

/// Prints the runtime's last error, about the file `path`, in the CLI's one
/// form for files: `PATH: error: message`.
void reportFileError(const std::string &path);

/// Writes `t` to DIR/NAME.npy; false (with a message) on failure.
bool writeTensor(const std::string &dir, const HostTensor &t);

} // namespace cascade

#endif
