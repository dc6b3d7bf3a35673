//===- EinViews.h - ONNX values as affine views of .ein tensors -*- C++ -*-===//
//
// The ONNX importer writes a cascade without copying for layout operators:
// a Transpose, Reshape, Squeeze, Unsqueeze, Flatten, Slice or constant
// Gather makes a new *view* of the same .ein tensor, and the next equation
// reads through it with affine index expressions (`X[b, s, h*64 + e]`).
//
// A view's logical dimensions are made of *atoms*, in row-major order: a
// merge (Reshape [12, 64] -> [768]) groups atoms, a split (Reshape [768] ->
// [12, 64]) cuts an atom in two. Every dimension of the stored tensor is an
// affine function of the atoms. An equation iterates over the atoms of its
// operands refined to a common structure, so a merged dimension never needs
// the `/` and `%` that .ein index expressions do not have.
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_COMPILER_IMPORT_EINVIEWS_H
#define CASCADE_COMPILER_IMPORT_EINVIEWS_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cascade::onnx_import {

/// An affine expression over a view's atoms: sum of coef * atom, + offset.
struct AffineIndex {
  std::map<unsigned, int64_t> coef; // atom -> coefficient
  int64_t offset = 0;
};

/// A logical tensor: the stored tensor `tensor` (a .ein name) read through
/// affine indices, or the number `literal` broadcast to `shape()`.
struct View {
  std::string tensor;
  std::optional<double> literal;
  std::vector<int64_t> atoms;   // atom extents, row-major
  std::vector<unsigned> dimEnd; // logical dim d covers atoms [end(d-1), end(d))
  std::vector<AffineIndex> base;  // one per stored dimension
  std::vector<int64_t> baseShape; // the stored tensor's shape

  static View identity(const std::string &tensor,
                       const std::vector<int64_t> &shape);
  static View constant(double value, const std::vector<int64_t> &shape);

  unsigned rank() const { return dimEnd.size(); }
  unsigned dimBegin(unsigned d) const { return d ? dimEnd[d - 1] : 0; }
  int64_t extent(unsigned d) const;
  std::vector<int64_t> shape() const;
  int64_t numElements() const;
  /// Whether the stored tensor is exactly the atoms in order (a tensor an
  /// equation wrote, possibly with merged dimensions).
  bool isPlainStorage() const;
};

/// Layout operators on views; nullopt (with `why` set) where the result is
/// not affine in the stored tensor.
std::optional<View> reshape(const View &v, const std::vector<int64_t> &shape,
                            std::string &why);
View transpose(const View &v, const std::vector<unsigned> &perm);
/// Elements start, start+step, ... (count of them) along dim `axis`.
std::optional<View> slice(const View &v, unsigned axis, int64_t start,
                          int64_t step, int64_t count, std::string &why);
/// Fixes dim `axis` at `index` (the dim disappears).
View select(const View &v, unsigned axis, int64_t index);

/// Index variables of .ein equations: one rank per (extent, copy) pair,
/// declared once for the whole model.
class RankTable {
public:
  /// The name of the `copy`-th rank of extent `extent` (declared on use).
  std::string rank(int64_t extent, unsigned copy);
  /// `ranks ...` declarations, one line each.
  std::string declarations() const;

private:
  std::map<std::pair<int64_t, unsigned>, std::string> names;
};

/// One equation under construction: its iteration space is a list of
/// slots (one per output dimension, then one per reduced dimension), each
/// refined into atoms so that every operand's atoms are sums of them.
class Equation {
public:
  explicit Equation(RankTable &ranks) : ranks(ranks) {}
  /// Adds a slot of `extent`; reduced slots are summed (or reduced by the
  /// equation's operator) and must follow the output slots.
  unsigned addSlot(int64_t extent, bool reduced = false);
  /// Registers the read of `v` with its logical dim d in slot `slotOf[d]`
  /// (-1: a broadcast dim of extent 1, read at 0). Returns an operand id.
  unsigned addOperand(const View &v, const std::vector<int> &slotOf);
  /// Fixes the atoms of each slot; false (with `why`) when two operands cut
  /// a slot incompatibly (a Reshape pair that is not a refinement).
  bool finalize(std::string &why);
  /// The .ein read of operand `id` (a number for a literal).
  std::string read(unsigned id) const;
  /// The left side for `name`, and the view the result is read through.
  std::string lhs(const std::string &name) const;
  View result(const std::string &name) const;
  /// The position in slot `slot` as an index expression (`4*n3 + n4`).
  std::string slotIndex(unsigned slot) const;
  /// The position in slot `slot` as (variable, coefficient) terms.
  std::vector<std::pair<std::string, int64_t>> slotTerms(unsigned slot) const;
  /// `:: OP(indices)` over the reduced slots' atoms ("" when none).
  std::string reduction(const std::string &op) const;
  bool hasReduction() const;
  /// The stored tensors the equation reads.
  std::vector<std::string> tensors() const;
  unsigned numOperands() const { return operands.size(); }
  const View &operandView(unsigned id) const { return operands[id].view; }
  /// Replaces operand `id`'s view by one of the same logical shape whose
  /// dims are split at the slots' atoms (after finalize).
  void replaceOperand(unsigned id, const View &v) { operands[id].view = v; }
  /// After finalize: for each logical dim of operand `id`, the extents of
  /// the atoms its slot is iterated in (outermost first; the dim's extent
  /// alone for a broadcast dim).
  std::vector<std::vector<int64_t>> operandRefinement(unsigned id) const;

private:
  struct Slot {
    int64_t extent;
    bool reduced;
    std::vector<int64_t> cuts;        // suffix products, ascending
    std::vector<std::string> vars;    // outermost atom first
    std::vector<int64_t> atomExtents; // outermost first
  };
  struct Operand {
    View view;
    std::vector<int> slotOf;
  };
  RankTable &ranks;
  std::vector<Slot> slots;
  std::vector<Operand> operands;
};

/// Prints a number so that .ein reads back the same f32 value.
std::string formatNumber(double v);

} // namespace cascade::onnx_import

#endif
