//===- Importer.h - The ONNX importer's state (internal) --------*- C++ -*-===//
#ifndef CASCADE_COMPILER_IMPORT_IMPORTER_H
#define CASCADE_COMPILER_IMPORT_IMPORTER_H

#include "compiler/Import/EinViews.h"
#include "compiler/Import/OnnxImport.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <memory>
#include <set>

namespace cascade::onnx_import {

/// A value known at import time (an initializer, a Constant, a folded
/// Shape): shape-determining inputs (Reshape's shape, Slice's starts) must
/// be one.
struct Const {
  std::vector<int64_t> shape;
  std::vector<double> values;
  int type = onnx::TensorProto::FLOAT;
  std::string key; // the initializer's name, when it is one
};

using Reads = std::vector<std::string>;
using Rhs = std::function<std::string(const Reads &)>;

/// An elementwise result not written yet: its consumer, if it is the only
/// one and elementwise too, computes it inline (a GELU chain becomes one
/// equation, not five). Operands are tensor views; operand k's dim d is
/// the result's dim slotOf[k][d] (-1: broadcast, read at 0).
struct Pending {
  std::string name; // the tensor it is written to, if it must be
  std::vector<int64_t> shape;
  std::vector<View> operands;
  std::vector<std::vector<int>> slotOf;
  Rhs rhs;            // the reads of the operands, in order, to the expression
  std::string origin; // the nodes it computes: "Div 'a/scale', Add 'a/mask'"
};

/// An operand of an elementwise node: a view, or a pending expression.
struct Operand {
  std::optional<View> view;
  std::shared_ptr<Pending> pending;
  std::vector<int64_t> shape() const {
    return view ? view->shape() : pending->shape;
  }
};

/// What the importer knows of one ONNX value.
struct Value {
  std::optional<View> view;      // a tensor of the cascade
  std::optional<Const> constant; // or a value known now
  int type = onnx::TensorProto::FLOAT;
  std::vector<int64_t> emptyShape;  // a graph input with an extent 0
  std::shared_ptr<Pending> pending; // or an expression not written yet
  std::vector<int64_t> shape() const {
    return view       ? view->shape()
           : constant ? constant->shape
           : pending  ? pending->shape
                      : emptyShape;
  }
};

/// The largest rank a tensor may have (the runtime's CASCADE_MAX_RANK).
constexpr size_t kMaxRank = 16;
/// Whether `shape` is non-negative and holds at most 2^40 elements.
bool fitsElementLimit(const std::vector<int64_t> &shape);
bool isFloatType(int type);
std::string typeName(int type);

/// Decodes a TensorProto (raw or typed data) into doubles; false with `why`
/// for a type it cannot hold or a size that does not match the shape.
bool decodeTensor(const onnx::TensorProto &t, Const &out, std::string &why);
/// Reads a .npy file (C order; float, integer or bool) into `out`.
bool readNpy(const std::string &path, Const &out, std::string &why);

class Importer {
public:
  Importer(const onnx::ModelProto &model, const std::string &path,
           std::map<std::string, double> &sizes,
           const std::map<std::string, std::string> &inputFiles,
           ImportedModel &out)
      : model(model), path(path), sizes(sizes), inputFiles(inputFiles),
        out(out) {}
  bool run(std::string &error);

  // --- for the operator translations (OnnxOps.cpp) ---
  const onnx::NodeProto *node = nullptr;
  int opset = 17;

  /// Reports `what` about the current node; returns false.
  bool fail(const std::string &what);
  /// Input `i` of the current node ("" when absent or empty).
  std::string input(unsigned i) const;
  unsigned numInputs() const { return node->input_size(); }
  /// The value named `name`; null (after fail) when unknown.
  const Value *value(const std::string &name);
  /// The view of input `i` (constants become literals or weights; a
  /// pending expression is written as an equation first).
  std::optional<View> viewOf(unsigned i);
  /// Input `i` as an elementwise operand (a pending expression stays one).
  std::optional<Operand> operandOf(unsigned i);
  /// The value of input `i` with any pending expression written out, its
  /// dims stored in the order `perm` (stored dim k is the value's
  /// perm[k]; empty: as the value's).
  const Value *concrete(unsigned i, const std::vector<unsigned> &perm = {});
  /// Output 0 of the node as `rhs` over `ins` elementwise (numpy
  /// broadcasting): pending when only one node reads it, else written.
  bool elementwiseNode(const std::vector<Operand> &ins, const Rhs &rhs,
                       int type);
  /// Defines output `i` as `p`: pending when only one node reads it, else
  /// written (in `p`'s layout: a Transpose or split Reshape of a pending
  /// expression is folded into it, so the tensor is stored as it is read).
  bool definePending(unsigned i, std::shared_ptr<Pending> p, int type);
  /// Records that output `i` of the node is the product equation of .ein
  /// tensor `tensor` (MatMul), which a constant factor may still scale.
  void markScalable(unsigned i, const std::string &tensor);
  /// For a Div (`divide`) or Mul node of a scalable product (that only this
  /// node reads) by a scalar constant: appends the factor to the product's
  /// equation and defines the output as the product. False, doing nothing,
  /// when the node is not one.
  bool foldScale(bool divide);
  /// The one node that reads the value `name`; null when several do, none
  /// does, or it is a graph output.
  const onnx::NodeProto *onlyReader(const std::string &name) const;
  /// Whether the value `name` is an output of an `opType` node.
  bool producedBy(const std::string &name, const std::string &opType) const;
  /// Input `i` as a constant; null (after fail naming `role`) if it is not.
  const Const *constantOf(unsigned i, const std::string &role);
  int typeOf(unsigned i);
  void define(unsigned output, View v, int type);
  void defineConst(unsigned output, Const c);

  bool hasAttr(const std::string &name) const;
  int64_t attrInt(const std::string &name, int64_t dflt) const;
  float attrFloat(const std::string &name, float dflt) const;
  std::vector<int64_t> attrInts(const std::string &name) const;
  std::string attrString(const std::string &name,
                         const std::string &dflt) const;
  const onnx::AttributeProto *attr(const std::string &name) const;

  /// A fresh .ein tensor name for output `output` of the node, + `suffix`.
  std::string tensorName(unsigned output, const std::string &suffix = "");
  /// Appends `lhs = rhs` (one equation) to the cascade.
  void emit(const std::string &equation);
  /// Finalizes `eq`, then emits `NAME[...] = rhs(reads)REDUCTION` and
  /// returns the view of NAME; nullopt after fail.
  std::optional<View> emitEquation(Equation &eq, const std::string &name,
                                   const std::function<std::string()> &rhs,
                                   const std::string &reductionOp = "+");
  /// An elementwise equation over the broadcast of `ins` (numpy rules),
  /// written at once (the steps of Softmax and LayerNormalization).
  std::optional<View> elementwise(const std::string &name,
                                  const std::vector<View> &ins, const Rhs &rhs);
  /// Reduces `in` over `axes` (non-negative) with `op` ("+" or "max"),
  /// keeping them as extent-1 dims (in the view, not in the stored tensor)
  /// when `keepDims`. `term` maps the read to the reduced term (`x * x`),
  /// and a `divisor` other than 1 divides the result (a mean).
  std::optional<View>
  reduce(const std::string &name, const View &in,
         const std::set<unsigned> &axes, bool keepDims, const std::string &op,
         int64_t divisor = 1,
         const std::function<std::string(const std::string &)> &term = {});
  /// Normalizes an axis attribute against `rank`; false after fail.
  bool axis(int64_t a, unsigned rank, unsigned &out);

  RankTable ranks;

private:
  bool translate();
  /// Writes `p` as an equation; its view.
  std::optional<View> materialize(Pending &p);
  /// Writes the pending expression of `slot` (its dims stored in the order
  /// `perm`, if given), under a comment naming the nodes it computes.
  bool write(Value &slot, const std::vector<unsigned> &perm = {});
  /// `rhs` over `ins` broadcast (numpy rules), pending inputs inlined (their
  /// operands become the result's); null after fail.
  std::shared_ptr<Pending> combine(const std::vector<Operand> &ins,
                                   const Rhs &rhs);
  std::map<std::string, int> uses; // readers of each value (graph outputs too)
  /// The nodes that read each value, with the input index; the node that
  /// writes it; the graph's outputs.
  std::map<std::string, std::vector<std::pair<const onnx::NodeProto *, int>>>
      readers;
  std::map<std::string, const onnx::NodeProto *> producer;
  std::set<std::string> graphOutputs;
  /// Whether `name` is no graph output and each node reading it takes it
  /// as `as` accepts (node, input index).
  bool
  onlyReadAs(const std::string &name,
             const std::function<bool(const onnx::NodeProto &, int)> &as) const;
  std::map<std::string, std::string> scalable; // ONNX value -> .ein product
  size_t nodeComment = SIZE_MAX; // where the current node's comment is
  bool declareInputs();
  bool declareOutputs();
  std::string uniqueName(const std::string &onnxName);
  View weight(const std::string &key, const Const &c);
  /// Whether every reader of the value `name` takes it as the weight of a
  /// product (MatMul's B, Gemm's B without transB).
  bool onlyMatMulWeight(const std::string &name) const;
  /// Declares the matrix `c` stored transposed, [out, in] as PyTorch's
  /// Linear stores it: the contraction kernels stream the weight's rows
  /// (transposed panels) instead of one cache line per row of an [in, out]
  /// matrix. The view reads it as `c`.
  View transposedWeight(const std::string &key, const Const &c);
  /// Declares each weight `eq` reads first split as `eq` iterates it
  /// (`WO[N12, N64, N768]` for a [768, 768] initializer read per head), so
  /// that the read has plain indices (a contraction kernel's operand).
  void refineWeights(Equation &eq);

  const onnx::ModelProto &model;
  std::string path;
  std::map<std::string, double> &sizes;
  std::set<std::string> usedSizes;
  const std::map<std::string, std::string> &inputFiles;
  ImportedModel &out;
  /// Graph inputs: their declarations, and those read as tensors.
  std::map<std::string, std::string> inputDeclarations;
  std::set<std::string> graphInputs;
  std::set<std::string> readTensors; // .ein tensors an equation reads
  std::map<std::string, Value> values;
  std::set<std::string> names;
  struct WeightDecl {
    std::string name;    // the .ein tensor
    size_t declaration;  // its line in `declarations`
    std::string keyText; // the safetensors key
    View view;           // how the graph's tensor reads it
    bool read = false;   // an equation reads it (its layout is fixed)
    std::string note;    // a comment on its declaration
  };
  std::map<std::string, WeightDecl> weights;     // by key
  std::map<std::string, std::string> weightKeys; // .ein name -> key
  struct StoredWeight {
    std::string key;
    std::vector<int64_t> shape;
    std::vector<float> data;
  };
  std::vector<StoredWeight> stored;
  std::vector<std::string> declarations, equations;
  std::string error;
  unsigned nodeIndex = 0;
};

/// `p` with its result dims permuted (dim k of the result is p's perm[k]).
std::shared_ptr<Pending> transposePending(const Pending &p,
                                          const std::vector<unsigned> &perm);

/// Translates the current node of `im`; false after im.fail.
bool translateNode(Importer &im);

} // namespace cascade::onnx_import

#endif
