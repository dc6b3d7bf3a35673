//===- Inputs.h - Tensors for `cascade run` ---------------------*- C++ -*-===//
#ifndef CASCADE_COMPILER_DRIVER_INPUTS_H
#define CASCADE_COMPILER_DRIVER_INPUTS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include <map>
#include <string>
#include <vector>

namespace cascade {

/// One f32 tensor held by the CLI.
struct HostTensor {
  std::string name, role;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

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

/// Writes `t` to DIR/NAME.npy; false (with a message) on failure.
bool writeTensor(const std::string &dir, const HostTensor &t);

} // namespace cascade

#endif
