//===- OnnxImport.h - ONNX graphs to .ein cascades --------------*- C++ -*-===//
//
// `cascade import MODEL.onnx -o DIR` and every command given a `.onnx`
// read the graph with ONNX's own C++ protobuf classes (Debian's
// libonnx-dev) and write it as a readable .ein cascade plus a safetensors
// file holding the initializers. The import is a translation to text: the
// .ein frontend then checks and builds the cascade as for a hand-written
// model, so an imported model gets every diagnostic, rewrite and target.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_COMPILER_IMPORT_ONNXIMPORT_H
#define CASCADE_COMPILER_IMPORT_ONNXIMPORT_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cascade {

/// One graph input or output: its .ein tensor, its ONNX name and, for an
/// output read through a merged Reshape, the shape the graph gives it (the
/// .ein tensor holds the same elements in the same order, split further).
struct ImportedTensor {
  std::string einName, onnxName;
  std::vector<int64_t> shape;
  std::string onnxType; // "float", "int64", "bool", ...
};

struct ImportedModel {
  std::string name;        // the model's name (the file's stem, sanitized)
  std::string ein;         // the cascade, as .ein text
  std::string safetensors; // the initializers, as a safetensors file
  std::string weightsFile; // the file name the .ein text's `weights` names
  std::vector<ImportedTensor> inputs, outputs;
  /// Graph inputs whose values decide a shape (Reshape's shape, a
  /// ReduceSum's axes): read at import from their `--input` file and
  /// folded, so they are not inputs of the cascade.
  std::vector<std::string> folded;
  /// Graph inputs no node reads: not inputs of the cascade; a value given
  /// for one is ignored.
  std::vector<std::string> unused;
};

/// Imports the ONNX model at `path`. `sizes` gives the extent of each
/// dynamic dimension (`--set NAME=V` with NAME an ONNX dim_param); the names
/// it uses are removed from `sizes`. On failure returns false with `error`
/// set to a message naming the file and, for a node, its name, position and
/// op type: `model.onnx: node 3 'attn/MatMul' (MatMul): error: ...`.
/// `inputFiles` maps graph input names to .npy files (`--input`): a graph
/// input that must be known at import is read from its file.
bool importOnnx(const std::string &path, std::map<std::string, double> &sizes,
                const std::map<std::string, std::string> &inputFiles,
                ImportedModel &out, std::string &error);

/// The same for a model held in memory (`bytes`), reported as `name`.
bool importOnnxBytes(const std::string &bytes, const std::string &name,
                     std::map<std::string, double> &sizes,
                     const std::map<std::string, std::string> &inputFiles,
                     ImportedModel &out, std::string &error);

/// The file name an output called `onnxName` is written to, without
/// `.npy`: every character outside [A-Za-z0-9_] becomes `_`.
std::string onnxFileStem(const std::string &onnxName);

} // namespace cascade

#endif
