//===- OnnxOps.cpp - ONNX operators as .ein equations ---------------------===//
//
// One function per operator (or family). Each reads its inputs as views,
// writes equations through the Importer and defines its outputs. Layout
// operators only make views; values known at import time (shapes, axes,
// Constant) are folded.
//
//===----------------------------------------------------------------------===//
#include "compiler/Import/Importer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace cascade::onnx_import {
namespace {

std::string str(const std::vector<int64_t> &v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

int64_t product(const std::vector<int64_t> &v, size_t from = 0,
                size_t to = SIZE_MAX) {
  int64_t p = 1;
  for (size_t i = from; i < std::min(to, v.size()); ++i)
    p *= v[i];
  return p;
}

/// A constant's values as integers, clamped to +-2^62 (an int64 end of
/// "to the end" in Slice; NaN counts as 0), so that casts are defined.
std::vector<int64_t> ints(const Const &c) {
  std::vector<int64_t> out;
  constexpr double kLimit = 4611686018427387904.0; // 2^62
  for (double v : c.values)
    out.push_back(std::isnan(v) ? 0 : (int64_t)std::clamp(v, -kLimit, kLimit));
  return out;
}

//===--- Elementwise ------------------------------------------------------===//

bool unary(Importer &im, const std::string &fn) {
  auto x = im.operandOf(0);
  if (!x)
    return false;
  return im.elementwiseNode(
      {*x},
      [fn](const Reads &r) {
        return fn == "-" ? "-" + r[0] : fn + "(" + r[0] + ")";
      },
      im.typeOf(0));
}

bool binary(Importer &im, const std::string &op) {
  // A product scaled by a constant (attention's scores / sqrt(d)) is one
  // equation: the contraction kernels apply the factor to each finished sum.
  if ((op == "/" || op == "*") && isFloatType(im.typeOf(0)) &&
      im.foldScale(op == "/"))
    return true;
  // Integer division truncates toward zero.
  bool truncate = op == "/" && !isFloatType(im.typeOf(0));
  auto a = im.operandOf(0), b = im.operandOf(1);
  if (!a || !b)
    return false;
  return im.elementwiseNode(
      {*a, *b},
      [op, truncate](const Reads &r) {
        std::string e = r[0] + " " + op + " " + r[1];
        return truncate ? "trunc(" + e + ")" : e;
      },
      im.typeOf(0));
}

/// `fn(a, b)` elementwise (numpy broadcasting).
bool binaryCall(Importer &im, const std::string &fn) {
  auto a = im.operandOf(0), b = im.operandOf(1);
  if (!a || !b)
    return false;
  return im.elementwiseNode(
      {*a, *b},
      [fn](const Reads &r) { return fn + "(" + r[0] + ", " + r[1] + ")"; },
      im.typeOf(0));
}

bool pow(Importer &im) {
  const Value *e = im.value(im.input(1));
  auto x = im.operandOf(0);
  if (!e || !x)
    return false;
  // A constant exponent is written as a number (multiplications when it is
  // a small integer); any other is C's pow.
  if (e->constant && e->constant->values.size() == 1) {
    double c = e->constant->values[0];
    Operand cv{View::constant(c, e->constant->shape), nullptr};
    return im.elementwiseNode(
        {*x, cv},
        [c](const Reads &r) {
          return "pow(" + r[0] + ", " + formatNumber(c) + ")";
        },
        im.typeOf(0));
  }
  return binaryCall(im, "pow");
}

/// Equal, Less, Greater: 1 where the comparison holds, else 0 (bool).
bool compare(Importer &im, const std::string &op) {
  auto a = im.operandOf(0), b = im.operandOf(1);
  if (!a || !b)
    return false;
  return im.elementwiseNode(
      {*a, *b},
      [op](const Reads &r) {
        return "where(" + r[0] + " " + op + " " + r[1] + ", 1, 0)";
      },
      onnx::TensorProto::BOOL);
}

/// Where(C, X, fill) with C a constant causal mask (C[.., i, j] true iff j
/// <= i on its last two dims, [P, P], the others 1), `fill` -inf or about
/// the lowest float (exporters write finfo.min), read only by a Softmax
/// over the last axis: the equation `where(j <= i, X, -inf)`. An index
/// comparison is what the one-pass loop skips masked key blocks on, and
/// the mask tensor is not stored. With -inf for finfo.min the softmax is
/// the same: every row keeps its diagonal, so its maximum is a score and
/// exp(fill - max) is 0 either way.
bool causalWhere(Importer &im) {
  if (im.node->output_size() < 1 || im.input(0).empty() ||
      im.input(1).empty() || im.input(2).empty())
    return false;
  const Value *c = im.value(im.input(0)), *fill = im.value(im.input(2));
  if (!c || !c->constant || !fill || !fill->constant ||
      fill->constant->values.size() != 1 ||
      !(fill->constant->values[0] < -1e38))
    return false;
  const std::vector<int64_t> &shape = c->constant->shape;
  unsigned rank = shape.size();
  if (rank < 2 || shape[rank - 1] != shape[rank - 2] ||
      product(shape, 0, rank - 2) != 1)
    return false;
  int64_t n = shape[rank - 1];
  const std::vector<double> &v = c->constant->values;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if ((v[i * n + j] != 0) != (j <= i))
        return false;
  const onnx::NodeProto *reader = im.onlyReader(im.node->output(0));
  if (!reader || reader->op_type() != "Softmax")
    return false;
  const Value *x = im.value(im.input(1));
  if (!x)
    return false;
  std::vector<int64_t> xs = x->shape();
  unsigned xr = xs.size();
  if (xr < rank || xs[xr - 1] != n || xs[xr - 2] != n)
    return false;
  int64_t axis = -1;
  for (const auto &a : reader->attribute())
    if (a.name() == "axis")
      axis = a.i();
  if (axis != -1 && axis != (int64_t)xr - 1)
    return false;
  auto xv = im.viewOf(1);
  if (!xv)
    return false;
  Equation eq(im.ranks);
  std::vector<int> slots;
  for (int64_t e : xs)
    slots.push_back(eq.addSlot(e));
  unsigned ix = eq.addOperand(*xv, slots);
  auto y = im.emitEquation(eq, im.tensorName(0), [&] {
    return "where(" + eq.slotIndex(slots[xr - 1]) +
           " <= " + eq.slotIndex(slots[xr - 2]) + ", " + eq.read(ix) +
           ", -inf)";
  });
  if (!y)
    return false;
  im.define(0, *y, im.typeOf(1));
  return true;
}

bool whereOp(Importer &im) {
  if (causalWhere(im))
    return true;
  auto c = im.operandOf(0), a = im.operandOf(1), b = im.operandOf(2);
  if (!c || !a || !b)
    return false;
  return im.elementwiseNode(
      {*c, *a, *b},
      [](const Reads &r) {
        return "where(" + r[0] + " != 0, " + r[1] + ", " + r[2] + ")";
      },
      im.typeOf(1));
}

//===--- Contractions -----------------------------------------------------===//

/// Y = A @ B with numpy's matmul rules; `scale` multiplies the product.
/// With `rowsLast` (both operands of rank 2 or more) Y is stored with its
/// last two dims swapped, [.., n, m].
bool matmul(Importer &im, const View &a, const View &b, const std::string &name,
            double scale, std::optional<View> &out, bool rowsLast = false) {
  unsigned ra = a.rank(), rb = b.rank();
  if (!ra || !rb)
    return im.fail("MatMul needs operands of rank 1 or more");
  std::vector<int64_t> sa = a.shape(), sb = b.shape();
  int64_t k = sa[ra - 1];
  unsigned kb = rb == 1 ? 0 : rb - 2;
  if (sb[kb] != k)
    return im.fail("the operands' inner dimensions differ: " + str(sa) +
                   " and " + str(sb));
  unsigned ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0;
  unsigned nb = std::max(ba, bb);
  std::vector<int64_t> batch(nb, 1);
  for (unsigned i = 0; i < ba; ++i)
    batch[nb - ba + i] = sa[i];
  for (unsigned i = 0; i < bb; ++i) {
    int64_t &s = batch[nb - bb + i];
    if (s != 1 && sb[i] != 1 && s != sb[i])
      return im.fail("the batch dimensions do not broadcast: " + str(sa) +
                     " and " + str(sb));
    s = std::max(s, sb[i]);
  }
  Equation eq(im.ranks);
  for (int64_t e : batch)
    eq.addSlot(e);
  rowsLast &= ra >= 2 && rb >= 2;
  int m = -1, n = -1;
  if (rowsLast)
    n = eq.addSlot(sb[rb - 1]);
  if (ra >= 2)
    m = eq.addSlot(sa[ra - 2]);
  if (rb >= 2 && !rowsLast)
    n = eq.addSlot(sb[rb - 1]);
  int kk = eq.addSlot(k, /*reduced=*/true);
  auto batchSlot = [&](unsigned i, unsigned count, int64_t extent) {
    unsigned s = nb - count + i;
    return extent == 1 && batch[s] != 1 ? -1 : (int)s;
  };
  std::vector<int> slotA, slotB;
  for (unsigned i = 0; i < ba; ++i)
    slotA.push_back(batchSlot(i, ba, sa[i]));
  if (ra >= 2)
    slotA.push_back(m);
  slotA.push_back(kk);
  for (unsigned i = 0; i < bb; ++i)
    slotB.push_back(batchSlot(i, bb, sb[i]));
  slotB.push_back(kk);
  if (rb >= 2)
    slotB.push_back(n);
  unsigned ia = eq.addOperand(a, slotA), ib = eq.addOperand(b, slotB);
  out = im.emitEquation(eq, name, [&] {
    std::string r = eq.read(ia) + " * " + eq.read(ib);
    return scale == 1 ? r : r + " * " + formatNumber(scale);
  });
  if (out && rowsLast) {
    std::vector<unsigned> perm(out->rank());
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
    out = transpose(*out, perm);
  }
  return out.has_value();
}

bool matmulOp(Importer &im) {
  // A batched product of two activations is attention's Q K^T or P V. Its
  // left operand, when this node writes it, is stored with the contraction
  // dim before the rows ([.., e, p] for Q): the one-pass rewrite iterates
  // queries innermost, and that layout feeds its micro-kernel directly (as
  // Q[h,e,p] in examples/bert_layer.ein).
  const Value *lhs = im.value(im.input(0)), *rhs = im.value(im.input(1));
  if (lhs && rhs && lhs->pending && !rhs->constant &&
      lhs->pending->shape.size() >= 3) {
    std::vector<unsigned> perm(lhs->pending->shape.size());
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
    if (!im.concrete(0, perm))
      return false;
  }
  // Attention's context, P V with P a softmax, is stored with the queries
  // last ([.., e, p], as AV[h,e,p] in examples/bert_layer.ein): the
  // output projection then reads it as the rows of a contiguous panel.
  bool context = lhs && rhs && !lhs->constant && !rhs->constant &&
                 lhs->shape().size() >= 3 && rhs->shape().size() >= 3 &&
                 im.producedBy(im.input(0), "Softmax");
  auto a = im.viewOf(0), b = im.viewOf(1);
  if (!a || !b)
    return false;
  std::optional<View> y;
  if (!matmul(im, *a, *b, im.tensorName(0), 1, y, context))
    return false;
  im.define(0, *y, im.typeOf(0));
  im.markScalable(0, y->tensor);
  return true;
}

bool gemm(Importer &im) {
  auto a = im.viewOf(0), b = im.viewOf(1);
  if (!a || !b)
    return false;
  if (a->rank() != 2 || b->rank() != 2)
    return im.fail("Gemm's A and B must be matrices");
  if (im.attrInt("transA", 0))
    a = transpose(*a, {1, 0});
  if (im.attrInt("transB", 0))
    b = transpose(*b, {1, 0});
  float alpha = im.attrFloat("alpha", 1), beta = im.attrFloat("beta", 1);
  bool bias = !im.input(2).empty() && beta != 0;
  std::optional<View> y;
  if (!matmul(im, *a, *b, im.tensorName(0, bias ? "_mm" : ""), alpha, y))
    return false;
  if (bias) {
    auto c = im.operandOf(2);
    if (!c)
      return false;
    return im.elementwiseNode(
        {Operand{y, nullptr}, *c},
        [beta](const Reads &r) {
          return r[0] + " + " +
                 (beta == 1 ? r[1] : formatNumber(beta) + " * " + r[1]);
        },
        im.typeOf(0));
  }
  im.define(0, *y, im.typeOf(0));
  return true;
}

bool einsum(Importer &im) {
  std::string eqText;
  for (char c : im.attrString("equation", ""))
    if (c != ' ')
      eqText += c;
  size_t arrow = eqText.find("->");
  std::string lhs = eqText.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  if (terms.size() != im.numInputs())
    return im.fail("the equation '" + eqText + "' has " +
                   std::to_string(terms.size()) + " operands, the node " +
                   std::to_string(im.numInputs()));
  std::vector<View> views;
  for (unsigned i = 0; i < terms.size(); ++i) {
    auto v = im.viewOf(i);
    if (!v)
      return false;
    views.push_back(*v);
  }
  // Expand `...` into placeholder letters '0', '1', ... (the broadcast dims).
  unsigned ellipsis = 0;
  std::vector<std::vector<char>> letters(terms.size());
  for (unsigned i = 0; i < terms.size(); ++i) {
    const std::string &t = terms[i];
    size_t dots = t.find("...");
    unsigned named = t.size() - (dots == std::string::npos ? 0 : 3);
    if (named > views[i].rank() ||
        (dots == std::string::npos && named != views[i].rank()))
      return im.fail("operand " + std::to_string(i) + " has rank " +
                     std::to_string(views[i].rank()) + ", the equation's '" +
                     t + "' does not match it");
    unsigned e = views[i].rank() - named;
    if (e > 10)
      return im.fail("'...' stands for more than 10 dimensions");
    ellipsis = std::max(ellipsis, e);
    for (size_t j = 0; j < t.size(); ++j) {
      if (j == dots) {
        for (unsigned k = 0; k < e; ++k)
          letters[i].push_back('0' + (char)(ellipsis - e + k));
        j += 2;
      } else if (std::isalpha((unsigned char)t[j])) {
        letters[i].push_back(t[j]);
      } else {
        return im.fail("the equation '" + eqText + "' has a bad character");
      }
    }
  }
  // Extents per letter (ellipsis dims broadcast).
  std::map<char, int64_t> extent;
  for (unsigned i = 0; i < terms.size(); ++i)
    for (unsigned d = 0; d < letters[i].size(); ++d) {
      char l = letters[i][d];
      int64_t e = views[i].extent(d);
      auto [it, fresh] = extent.insert({l, e});
      if (!fresh && it->second != e) {
        if (std::isdigit((unsigned char)l) && (e == 1 || it->second == 1))
          it->second = std::max(e, it->second);
        else
          return im.fail("index '" + std::string(1, l) + "' has extents " +
                         std::to_string(it->second) + " and " +
                         std::to_string(e));
      }
    }
  std::vector<char> outLetters;
  if (arrow != std::string::npos) {
    std::string rhs = eqText.substr(arrow + 2);
    for (size_t j = 0; j < rhs.size(); ++j) {
      if (rhs.compare(j, 3, "...") == 0) {
        for (unsigned k = 0; k < ellipsis; ++k)
          outLetters.push_back('0' + (char)k);
        j += 2;
      } else if (!extent.count(rhs[j])) {
        return im.fail("output index '" + std::string(1, rhs[j]) +
                       "' is on no operand");
      } else {
        outLetters.push_back(rhs[j]);
      }
    }
  } else {
    // Implicit output: the ellipsis, then letters used once, sorted.
    for (unsigned k = 0; k < ellipsis; ++k)
      outLetters.push_back('0' + (char)k);
    std::map<char, int> uses;
    for (auto &ls : letters)
      for (char l : ls)
        ++uses[l];
    for (auto [l, n] : uses)
      if (n == 1 && std::isalpha((unsigned char)l))
        outLetters.push_back(l);
  }
  Equation eq(im.ranks);
  std::map<char, int> slot;
  for (char l : outLetters)
    slot[l] = eq.addSlot(extent[l]);
  for (auto &ls : letters)
    for (char l : ls)
      if (!slot.count(l))
        slot[l] = eq.addSlot(extent[l], /*reduced=*/true);
  std::vector<unsigned> ids;
  for (unsigned i = 0; i < terms.size(); ++i) {
    std::vector<int> slotOf;
    for (unsigned d = 0; d < letters[i].size(); ++d) {
      char l = letters[i][d];
      slotOf.push_back(views[i].extent(d) == 1 && extent[l] != 1 ? -1
                                                                 : slot[l]);
    }
    ids.push_back(eq.addOperand(views[i], slotOf));
  }
  auto y = im.emitEquation(eq, im.tensorName(0), [&] {
    std::string r;
    for (unsigned id : ids)
      r += (r.empty() ? "" : " * ") + eq.read(id);
    return r;
  });
  if (!y)
    return false;
  im.define(0, *y, im.typeOf(0));
  return true;
}

//===--- Normalizations and reductions ------------------------------------===//

bool softmax(Importer &im, bool log) {
  auto x = im.viewOf(0);
  if (!x)
    return false;
  unsigned rank = x->rank(), a;
  // Opset 13 normalizes along one axis; earlier opsets flatten the input
  // to 2-D at `axis` (default 1) and normalize each row.
  bool one = im.opset >= 13;
  if (!rank)
    return im.fail("the input must have rank 1 or more");
  if (!im.axis(im.attrInt("axis", one ? -1 : 1), rank, a))
    return false;
  std::set<unsigned> axes;
  for (unsigned d = a; d < (one ? a + 1 : rank); ++d)
    axes.insert(d);
  auto mx = im.reduce(im.tensorName(0, "_max"), *x, axes, true, "max");
  if (!mx)
    return false;
  auto e =
      im.elementwise(im.tensorName(0, "_exp"), {*x, *mx}, [](const Reads &r) {
        return "exp(" + r[0] + " - " + r[1] + ")";
      });
  if (!e)
    return false;
  auto s = im.reduce(im.tensorName(0, "_sum"), *e, axes, true, "+");
  if (!s)
    return false;
  std::optional<View> y;
  if (log)
    y = im.elementwise(im.tensorName(0), {*x, *mx, *s}, [](const Reads &r) {
      return r[0] + " - " + r[1] + " - log(" + r[2] + ")";
    });
  else
    y = im.elementwise(im.tensorName(0), {*e, *s},
                       [](const Reads &r) { return r[0] + " / " + r[1]; });
  if (!y)
    return false;
  im.define(0, *y, im.typeOf(0));
  return true;
}

bool layerNorm(Importer &im) {
  auto x = im.viewOf(0), g = im.viewOf(1);
  if (!x || !g)
    return false;
  unsigned a;
  if (!im.axis(im.attrInt("axis", -1), x->rank(), a))
    return false;
  std::set<unsigned> axes;
  for (unsigned d = a; d < x->rank(); ++d)
    axes.insert(d);
  int64_t n = product(x->shape(), a);
  auto mu = im.reduce(im.tensorName(0, "_mean"), *x, axes, true, "+", n);
  if (!mu)
    return false;
  auto c = im.elementwise(im.tensorName(0, "_centered"), {*x, *mu},
                          [](const Reads &r) { return r[0] + " - " + r[1]; });
  if (!c)
    return false;
  auto var = im.reduce(im.tensorName(0, "_var"), *c, axes, true, "+", n,
                       [](const std::string &r) { return r + " * " + r; });
  if (!var)
    return false;
  std::string eps = formatNumber(im.attrFloat("epsilon", 1e-5f));
  auto rs =
      im.elementwise(im.tensorName(2, "_rstd"), {*var}, [&](const Reads &r) {
        return "rsqrt(" + r[0] + " + " + eps + ")";
      });
  if (!rs)
    return false;
  std::vector<View> ins = {*c, *rs, *g};
  if (!im.input(2).empty()) {
    auto b = im.viewOf(2);
    if (!b)
      return false;
    ins.push_back(*b);
  }
  auto y = im.elementwise(im.tensorName(0), ins, [](const Reads &r) {
    std::string s = r[0] + " * " + r[1] + " * " + r[2];
    return r.size() > 3 ? s + " + " + r[3] : s;
  });
  if (!y)
    return false;
  im.define(0, *y, im.typeOf(0));
  im.define(1, *mu, im.typeOf(0));
  im.define(2, *rs, im.typeOf(0));
  return true;
}

bool reduceOp(Importer &im, const std::string &op, bool mean) {
  auto x = im.viewOf(0);
  if (!x)
    return false;
  std::vector<int64_t> axesList;
  // ReduceSum takes its axes as an input from opset 13, the others from 18.
  bool axesInput =
      im.node->op_type() == "ReduceSum" ? im.opset >= 13 : im.opset >= 18;
  if (axesInput && !im.input(1).empty()) {
    const Const *c = im.constantOf(1, "axes");
    if (!c)
      return false;
    axesList = ints(*c);
  } else if (!axesInput) {
    axesList = im.attrInts("axes");
  }
  std::set<unsigned> axes;
  for (int64_t a : axesList) {
    unsigned d;
    if (!im.axis(a, x->rank(), d))
      return false;
    axes.insert(d);
  }
  if (axes.empty()) {
    if (im.attrInt("noop_with_empty_axes", 0)) {
      im.define(0, *x, im.typeOf(0));
      return true;
    }
    for (unsigned d = 0; d < x->rank(); ++d)
      axes.insert(d);
  }
  int64_t n = 1;
  for (unsigned d : axes)
    n *= x->extent(d);
  auto y = im.reduce(im.tensorName(0), *x, axes, im.attrInt("keepdims", 1), op,
                     mean ? n : 1);
  if (!y)
    return false;
  im.define(0, *y, im.typeOf(0));
  return true;
}

//===--- Layout -----------------------------------------------------------===//

/// The largest tensor a Reshape that is no view copies (an O(n^2) sum).
constexpr int64_t kMaxReshapeCopy = 4096;

/// Defines output 0 as `v` re-viewed as `shape` (Reshape and its kin).
/// A reshape that no affine index can read (`[2, 3, 4]` as `[4, 2, 3]`) of
/// a small tensor is a copy: OUT[o] = sum over i of where(flat(o) ==
/// flat(i), X[i], 0), exact, in O(n^2).
bool reshapeTo(Importer &im, const View &v, const std::vector<int64_t> &shape) {
  std::string why;
  auto r = reshape(v, shape, why);
  if (r) {
    im.define(0, *r, im.typeOf(0));
    return true;
  }
  if (v.numElements() > kMaxReshapeCopy)
    return im.fail("cannot view " + str(v.shape()) + " as " + str(shape) +
                   ": " + why + " (tensors up to " +
                   std::to_string(kMaxReshapeCopy) + " elements are copied)");
  Equation eq(im.ranks);
  std::vector<unsigned> outSlots, inSlots;
  for (int64_t e : shape)
    outSlots.push_back(eq.addSlot(e));
  std::vector<int> slotOf;
  for (int64_t e : v.shape()) {
    inSlots.push_back(eq.addSlot(e, /*reduced=*/true));
    slotOf.push_back(inSlots.back());
  }
  unsigned id = eq.addOperand(v, slotOf);
  auto flat = [&](const std::vector<unsigned> &slots,
                  const std::vector<int64_t> &extents) {
    std::string e;
    int64_t stride = 1;
    for (size_t d = slots.size(); d-- > 0;) {
      for (auto [var, c] : eq.slotTerms(slots[d]))
        e = (stride * c == 1 ? var : std::to_string(stride * c) + "*" + var) +
            (e.empty() ? "" : " + " + e);
      stride *= extents[d];
    }
    return e.empty() ? std::string("0") : e;
  };
  auto y = im.emitEquation(eq, im.tensorName(0), [&] {
    return "where(" + flat(outSlots, shape) +
           " == " + flat(inSlots, v.shape()) + ", " + eq.read(id) + ", 0)";
  });
  if (!y)
    return false;
  im.define(0, *y, im.typeOf(0));
  return true;
}

/// `p` read as `shape` when that only splits its dims (`[128, 768]` as
/// `[1, 128, 12, 64]`): each operand is split the same way. Null for any
/// other reshape (a merge), which needs the tensor written first.
std::shared_ptr<Pending> splitPending(const Pending &p,
                                      const std::vector<int64_t> &shape) {
  std::vector<std::vector<unsigned>> group(p.shape.size());
  unsigned next = 0;
  for (unsigned r = 0; r < p.shape.size(); ++r) {
    int64_t prod = 1;
    while (prod < p.shape[r]) {
      if (next >= shape.size())
        return nullptr;
      if (shape[next] > 1) {
        prod *= shape[next];
        group[r].push_back(next);
      }
      ++next;
    }
    if (prod != p.shape[r])
      return nullptr;
  }
  for (; next < shape.size(); ++next)
    if (shape[next] != 1)
      return nullptr;
  auto q = std::make_shared<Pending>(p);
  q->shape = shape;
  for (size_t k = 0; k < p.operands.size(); ++k) {
    const View &v = p.operands[k];
    std::vector<int64_t> vs = v.shape(), newShape;
    std::vector<int> newSlots;
    for (unsigned d = 0; d < vs.size(); ++d) {
      int r = p.slotOf[k][d];
      if (r < 0) {
        newShape.push_back(vs[d]);
        newSlots.push_back(-1);
      } else {
        for (unsigned g : group[r]) {
          newShape.push_back(shape[g]);
          newSlots.push_back(g);
        }
      }
    }
    std::string why;
    auto split = reshape(v, newShape, why);
    if (!split)
      return nullptr;
    q->operands[k] = *split;
    q->slotOf[k] = newSlots;
  }
  return q;
}

/// Folds a layout operator on a constant: same values, new shape.
bool reshapeConst(Importer &im, const Const &c,
                  const std::vector<int64_t> &shape) {
  Const out = c;
  out.key.clear();
  out.shape = shape;
  im.defineConst(0, out);
  return true;
}

bool reshapeLike(Importer &im, const std::vector<int64_t> &shape) {
  const Value *pending = im.value(im.input(0));
  if (pending && pending->pending &&
      product(shape) == product(pending->shape()))
    if (auto q = splitPending(*pending->pending, shape))
      return im.definePending(0, q, pending->type);
  const Value *v = im.concrete(0);
  if (!v)
    return false;
  if (shape.size() > kMaxRank || !fitsElementLimit(shape))
    return im.fail("shape " + str(shape) + " is too large");
  if (product(shape) != product(v->shape()))
    return im.fail("cannot view " + str(v->shape()) + " as " + str(shape) +
                   ": the shapes hold different numbers of elements");
  if (v->constant)
    return reshapeConst(im, *v->constant, shape);
  return reshapeTo(im, *v->view, shape);
}

bool reshapeOp(Importer &im) {
  const Value *v = im.value(im.input(0));
  const Const *c = im.constantOf(1, "shape");
  if (!v || !c)
    return false;
  std::vector<int64_t> in = v->shape(), shape = ints(*c);
  bool allowZero = im.attrInt("allowzero", 0);
  int infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowZero) {
      if (i >= in.size())
        return im.fail("shape " + str(shape) + " copies dimension " +
                       std::to_string(i) + ", which the input lacks");
      shape[i] = in[i];
    } else if (shape[i] == -1) {
      if (infer >= 0)
        return im.fail("shape " + str(shape) + " has two -1 entries");
      infer = i;
    } else if (shape[i] < 1) {
      return im.fail("shape " + str(shape) +
                     " has an empty or negative "
                     "dimension");
    }
  }
  if (infer >= 0) {
    shape[infer] = 1;
    if (!fitsElementLimit(shape))
      return im.fail("shape " + str(shape) + " is too large");
    int64_t rest = product(shape);
    if (product(in) % rest)
      return im.fail("cannot infer the -1 of " + str(shape) + " for " +
                     str(in));
    shape[infer] = product(in) / rest;
  }
  return reshapeLike(im, shape);
}

bool flatten(Importer &im) {
  const Value *v = im.value(im.input(0));
  if (!v)
    return false;
  std::vector<int64_t> in = v->shape();
  int64_t a = im.attrInt("axis", 1);
  if (a < 0)
    a += in.size();
  if (a < 0 || a > (int64_t)in.size())
    return im.fail("axis out of range");
  return reshapeLike(im, {product(in, 0, a), product(in, a)});
}

/// Squeeze's or Unsqueeze's axes: the input from opset 13, else the
/// attribute.
bool axesOf(Importer &im, std::vector<int64_t> &axes, bool &given) {
  given = true;
  if (im.opset >= 13) {
    if (im.input(1).empty()) {
      given = false;
      return true;
    }
    const Const *c = im.constantOf(1, "axes");
    if (!c)
      return false;
    axes = ints(*c);
    return true;
  }
  given = im.hasAttr("axes");
  axes = im.attrInts("axes");
  return true;
}

bool squeeze(Importer &im) {
  const Value *v = im.value(im.input(0));
  std::vector<int64_t> axes;
  bool given;
  if (!v || !axesOf(im, axes, given))
    return false;
  std::vector<int64_t> in = v->shape();
  std::set<unsigned> drop;
  for (int64_t a : axes) {
    unsigned d;
    if (!im.axis(a, in.size(), d))
      return false;
    if (in[d] != 1)
      return im.fail("dimension " + std::to_string(d) + " of " + str(in) +
                     " is not 1");
    drop.insert(d);
  }
  std::vector<int64_t> shape;
  for (unsigned d = 0; d < in.size(); ++d)
    if (given ? !drop.count(d) : in[d] != 1)
      shape.push_back(in[d]);
  return reshapeLike(im, shape);
}

bool unsqueeze(Importer &im) {
  const Value *v = im.value(im.input(0));
  std::vector<int64_t> axes;
  bool given;
  if (!v || !axesOf(im, axes, given))
    return false;
  if (!given)
    return im.fail("the axes are missing");
  std::vector<int64_t> in = v->shape();
  unsigned rank = in.size() + axes.size();
  std::set<unsigned> add;
  for (int64_t a : axes) {
    unsigned d;
    if (!im.axis(a, rank, d))
      return false;
    if (!add.insert(d).second)
      return im.fail("axis " + std::to_string(a) + " is given twice");
  }
  std::vector<int64_t> shape;
  for (unsigned d = 0, i = 0; d < rank; ++d)
    shape.push_back(add.count(d) ? 1 : in[i++]);
  return reshapeLike(im, shape);
}

bool transposeOp(Importer &im) {
  const Value *v = im.value(im.input(0));
  if (!v)
    return false;
  unsigned rank = v->shape().size();
  std::vector<int64_t> p = im.attrInts("perm");
  std::vector<unsigned> perm;
  if (p.empty())
    for (unsigned d = rank; d-- > 0;)
      perm.push_back(d);
  for (int64_t d : p)
    perm.push_back(d);
  std::vector<unsigned> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (unsigned d = 0; d < sorted.size(); ++d)
    if (sorted.size() != rank || sorted[d] != d)
      return im.fail("perm is not a permutation of the input's " +
                     std::to_string(rank) + " dimensions");
  if (const Value *p = im.value(im.input(0)); p && p->pending)
    return im.definePending(0, transposePending(*p->pending, perm), p->type);
  auto x = im.viewOf(0);
  if (!x)
    return false;
  im.define(0, transpose(*x, perm), im.typeOf(0));
  return true;
}

/// `p` restricted to [start, start + count * step) along its dim `axis`:
/// each operand's dim read there sliced alike; null when a view cannot be.
std::shared_ptr<Pending> slicePending(const Pending &p, unsigned axis,
                                      int64_t start, int64_t step,
                                      int64_t count) {
  auto q = std::make_shared<Pending>(p);
  q->shape[axis] = count;
  for (size_t k = 0; k < p.operands.size(); ++k)
    for (unsigned d = 0; d < p.slotOf[k].size(); ++d) {
      if (p.slotOf[k][d] != (int)axis)
        continue;
      std::string why;
      auto v = slice(q->operands[k], d, start, step, count, why);
      if (!v)
        return nullptr;
      q->operands[k] = *v;
    }
  return q;
}

/// The pending expression of input 0, if it is one: a Slice or Split then
/// takes its parts as expressions.
std::shared_ptr<Pending> pendingInput(Importer &im) {
  const Value *v = im.value(im.input(0));
  return v && v->pending ? v->pending : nullptr;
}

/// Defines output `i` as the part `p` of the input's expression.
bool definePart(Importer &im, unsigned i, std::shared_ptr<Pending> p) {
  p->name = im.tensorName(i);
  p->origin += ", " + im.node->op_type() + " '" + im.node->name() + "'";
  return im.definePending(i, p, im.typeOf(0));
}

bool sliceOp(Importer &im) {
  const Const *starts = im.constantOf(1, "starts");
  const Const *ends = starts ? im.constantOf(2, "ends") : nullptr;
  if (!ends)
    return false;
  const Value *in = im.value(im.input(0));
  if (!in)
    return false;
  unsigned rank = in->shape().size();
  std::vector<int64_t> axes, steps;
  if (!im.input(3).empty()) {
    const Const *c = im.constantOf(3, "axes");
    if (!c)
      return false;
    axes = ints(*c);
  } else {
    for (unsigned d = 0; d < starts->values.size(); ++d)
      axes.push_back(d);
  }
  if (!im.input(4).empty()) {
    const Const *c = im.constantOf(4, "steps");
    if (!c)
      return false;
    steps = ints(*c);
  } else {
    steps.assign(axes.size(), 1);
  }
  if (starts->values.size() != axes.size() ||
      ends->values.size() != axes.size() || steps.size() != axes.size())
    return im.fail("starts, ends, axes and steps differ in length");
  // Each sliced dim: (dim, start, step, count).
  struct Cut {
    unsigned d;
    int64_t start, step, count;
  };
  std::vector<Cut> cuts;
  std::vector<int64_t> shape = in->shape();
  for (size_t i = 0; i < axes.size(); ++i) {
    unsigned d;
    if (!im.axis(axes[i], rank, d))
      return false;
    int64_t n = shape[d], step = steps[i];
    if (step == 0)
      return im.fail("a step is 0");
    double s = starts->values[i], e = ends->values[i];
    if (std::isnan(s) || std::isnan(e))
      return im.fail("a start or end is not a number");
    if (s < 0)
      s += n;
    if (e < 0)
      e += n;
    if (step > 0) {
      s = std::clamp(s, 0.0, (double)n);
      e = std::clamp(e, 0.0, (double)n);
    } else {
      s = std::clamp(s, 0.0, (double)n - 1);
      e = std::clamp(e, -1.0, (double)n - 1);
    }
    int64_t count = (int64_t)std::ceil((e - s) / (double)step);
    if (count <= 0)
      return im.fail("the slice of dimension " + std::to_string(d) +
                     " is empty; Cascade has no empty tensors");
    if (count == 1)
      step = 1; // one element: the step never applies (and cannot overflow)
    cuts.push_back({d, (int64_t)s, step, count});
    shape[d] = count;
  }
  // A part of an expression not written yet stays one.
  if (std::shared_ptr<Pending> part = pendingInput(im)) {
    for (const Cut &c : cuts)
      if (part)
        part = slicePending(*part, c.d, c.start, c.step, c.count);
    if (part)
      return definePart(im, 0, part);
  }
  auto x = im.viewOf(0);
  if (!x)
    return false;
  View v = *x;
  for (const Cut &c : cuts) {
    std::string why;
    auto r = slice(v, c.d, c.start, c.step, c.count, why);
    if (!r)
      return im.fail("cannot slice dimension " + std::to_string(c.d) + ": " +
                     why);
    v = *r;
  }
  im.define(0, v, im.typeOf(0));
  return true;
}

/// Split: each output is a slice view of the input along `axis` (sizes
/// from the `split` input, or attribute before opset 13, else equal parts).
bool split(Importer &im) {
  // An expression not written yet is split into expressions.
  std::shared_ptr<Pending> p = pendingInput(im);
  std::optional<View> x;
  if (!p && !(x = im.viewOf(0)))
    return false;
  unsigned rank = p ? p->shape.size() : x->rank(), a;
  if (!im.axis(im.attrInt("axis", 0), rank, a))
    return false;
  int64_t n = p ? p->shape[a] : x->extent(a), outputs = im.node->output_size();
  std::vector<int64_t> sizes;
  if (im.opset >= 13 && !im.input(1).empty()) {
    const Const *c = im.constantOf(1, "split");
    if (!c)
      return false;
    sizes = ints(*c);
  } else if (im.opset < 13) {
    sizes = im.attrInts("split");
  }
  if (sizes.empty()) {
    if (outputs < 1 || n % outputs)
      return im.fail("dimension " + std::to_string(a) + " of extent " +
                     std::to_string(n) + " does not split into " +
                     std::to_string(outputs) + " equal parts");
    sizes.assign(outputs, n / outputs);
  }
  if ((int64_t)sizes.size() != outputs)
    return im.fail("split has " + std::to_string(sizes.size()) + " sizes for " +
                   std::to_string(outputs) + " outputs");
  int64_t start = 0;
  for (int64_t i = 0; i < outputs; ++i) {
    if (sizes[i] < 1)
      return im.fail("part " + std::to_string(i) +
                     " is empty; Cascade has no empty tensors");
    if (start + sizes[i] > n)
      return im.fail("the sizes add up to more than the extent " +
                     std::to_string(n));
    start += sizes[i];
  }
  if (start != n)
    return im.fail("the sizes add up to " + std::to_string(start) +
                   ", not the extent " + std::to_string(n));
  if (p) {
    std::vector<std::shared_ptr<Pending>> parts;
    start = 0;
    for (int64_t size : sizes) {
      if (auto part = slicePending(*p, a, start, 1, size))
        parts.push_back(part);
      start += size;
    }
    if ((int64_t)parts.size() == outputs) {
      for (int64_t i = 0; i < outputs; ++i)
        if (!definePart(im, i, parts[i]))
          return false;
      return true;
    }
    // A part is no view of the operands: write the whole and split it.
    if (!(x = im.viewOf(0)))
      return false;
  }
  start = 0;
  for (int64_t i = 0; i < outputs; ++i) {
    std::string why;
    auto part = slice(*x, a, start, 1, sizes[i], why);
    if (!part)
      return im.fail("cannot split dimension " + std::to_string(a) + ": " +
                     why);
    im.define(i, *part, im.typeOf(0));
    start += sizes[i];
  }
  return true;
}

/// Writes `OUT = where(i < e0, PART0, where(i < e0+e1, PART1, ...))` along
/// `axis`, each part read shifted to its place.
bool concat(Importer &im) {
  std::vector<View> parts;
  for (unsigned i = 0; i < im.numInputs(); ++i) {
    auto v = im.viewOf(i);
    if (!v)
      return false;
    parts.push_back(*v);
  }
  if (parts.empty())
    return im.fail("no inputs");
  unsigned rank = parts[0].rank(), a;
  if (!im.axis(im.attrInt("axis", 0), rank, a))
    return false;
  std::vector<int64_t> shape = parts[0].shape();
  int64_t total = 0;
  for (const View &p : parts) {
    std::vector<int64_t> s = p.shape();
    if (s.size() != rank)
      return im.fail("the inputs differ in rank");
    for (unsigned d = 0; d < rank; ++d)
      if (d != a && s[d] != shape[d])
        return im.fail("the inputs' shapes " + str(shape) + " and " + str(s) +
                       " differ outside the axis");
    total += s[a];
  }
  if (parts.size() == 1) {
    im.define(0, parts[0], im.typeOf(0));
    return true;
  }
  shape[a] = total;
  Equation eq(im.ranks);
  std::vector<int> slotOf;
  for (int64_t e : shape)
    slotOf.push_back(eq.addSlot(e));
  std::vector<unsigned> ids;
  std::vector<int64_t> ends;
  int64_t offset = 0;
  for (const View &p : parts) {
    std::string why;
    auto shifted = slice(p, a, -offset, 1, total, why);
    if (!shifted)
      return im.fail("cannot place input along the axis: " + why);
    offset += p.extent(a);
    ends.push_back(offset);
    ids.push_back(eq.addOperand(*shifted, slotOf));
  }
  auto y = im.emitEquation(eq, im.tensorName(0), [&] {
    std::string i = eq.slotIndex(a);
    std::string r = eq.read(ids.back());
    for (size_t k = ids.size() - 1; k-- > 0;)
      r = "where(" + i + " < " + std::to_string(ends[k]) + ", " +
          eq.read(ids[k]) + ", " + r + ")";
    return r;
  });
  if (!y)
    return false;
  im.define(0, *y, im.typeOf(0));
  return true;
}

bool gather(Importer &im) {
  const Value *data = im.concrete(0);
  const Const *idx = im.constantOf(1, "indices");
  if (!data || !idx)
    return false;
  std::vector<int64_t> in = data->shape();
  unsigned a;
  if (!im.axis(im.attrInt("axis", 0), in.size(), a))
    return false;
  std::vector<int64_t> indices;
  for (double d : idx->values) {
    if (!(std::fabs(d) < 4e18))
      return im.fail("an index is not an integer in range");
    int64_t i = (int64_t)d;
    if (i < 0)
      i += in[a];
    if (i < 0 || i >= in[a])
      return im.fail("index " + std::to_string((int64_t)d) +
                     " is out of range for dimension " + std::to_string(a) +
                     " of extent " + std::to_string(in[a]));
    indices.push_back(i);
  }
  std::vector<int64_t> outShape(in.begin(), in.begin() + a);
  outShape.insert(outShape.end(), idx->shape.begin(), idx->shape.end());
  outShape.insert(outShape.end(), in.begin() + a + 1, in.end());
  if (outShape.size() > kMaxRank || !fitsElementLimit(outShape))
    return im.fail("the result " + str(outShape) + " is too large");
  if (indices.empty())
    return im.fail("the indices are empty");
  if (data->constant) {
    // Fold (shape computations gather from Shape's result).
    Const c;
    c.type = data->constant->type;
    c.shape = outShape;
    int64_t outer = product(in, 0, a), inner = product(in, a + 1);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i : indices)
        for (int64_t k = 0; k < inner; ++k)
          c.values.push_back(
              data->constant->values[(o * in[a] + i) * inner + k]);
    im.defineConst(0, c);
    return true;
  }
  View v = *data->view;
  if (idx->shape.empty()) {
    im.define(0, select(v, a, indices[0]), im.typeOf(0));
    return true;
  }
  // An arithmetic progression is a slice; anything else a `where` chain.
  int64_t step = indices.size() > 1 ? indices[1] - indices[0] : 1;
  bool progression = true;
  for (size_t i = 1; i < indices.size(); ++i)
    progression &= indices[i] - indices[i - 1] == step;
  std::vector<int64_t> flatShape = in;
  flatShape[a] = indices.size();
  std::optional<View> flat;
  std::string why;
  if (progression) {
    flat = slice(v, a, indices[0], step, indices.size(), why);
    if (!flat)
      return im.fail("cannot gather along dimension " + std::to_string(a) +
                     ": " + why);
  } else {
    if (indices.size() > 256)
      return im.fail("more than 256 indices that are not evenly spaced");
    Equation eq(im.ranks);
    std::vector<int> slotOf;
    for (int64_t e : flatShape)
      slotOf.push_back(eq.addSlot(e));
    std::vector<int> partSlots = slotOf;
    partSlots.erase(partSlots.begin() + a);
    std::vector<unsigned> ids;
    for (int64_t i : indices)
      ids.push_back(eq.addOperand(select(v, a, i), partSlots));
    flat = im.emitEquation(eq, im.tensorName(0), [&] {
      std::string pos = eq.slotIndex(a);
      std::string r = eq.read(ids.back());
      for (size_t k = ids.size() - 1; k-- > 0;)
        r = "where(" + pos + " == " + std::to_string(k) + ", " +
            eq.read(ids[k]) + ", " + r + ")";
      return r;
    });
    if (!flat)
      return false;
  }
  return reshapeTo(im, *flat, outShape);
}

//===--- Constants and types ----------------------------------------------===//

bool constant(Importer &im) {
  Const c;
  std::string why;
  if (const auto *t = im.attr("value")) {
    if (!decodeTensor(t->t(), c, why))
      return im.fail("the value " + why);
  } else if (const auto *f = im.attr("value_float")) {
    c.values = {f->f()};
  } else if (const auto *fs = im.attr("value_floats")) {
    c.values.assign(fs->floats().begin(), fs->floats().end());
    c.shape = {(int64_t)c.values.size()};
  } else if (const auto *i = im.attr("value_int")) {
    c.values = {(double)i->i()};
    c.type = onnx::TensorProto::INT64;
  } else if (const auto *is = im.attr("value_ints")) {
    c.values.assign(is->ints().begin(), is->ints().end());
    c.shape = {(int64_t)c.values.size()};
    c.type = onnx::TensorProto::INT64;
  } else {
    return im.fail("only tensor, float and int values are supported (not "
                   "sparse tensors or strings)");
  }
  im.defineConst(0, c);
  return true;
}

bool constantOfShape(Importer &im) {
  const Const *s = im.constantOf(0, "shape");
  if (!s)
    return false;
  Const c;
  c.shape = ints(*s);
  for (int64_t d : c.shape)
    if (d < 1)
      return im.fail("shape " + str(c.shape) +
                     " is empty; Cascade has no "
                     "empty tensors");
  if (c.shape.size() > kMaxRank || !fitsElementLimit(c.shape))
    return im.fail("shape " + str(c.shape) + " is too large");
  double value = 0;
  if (const auto *t = im.attr("value")) {
    Const v;
    std::string why;
    if (!decodeTensor(t->t(), v, why) || v.values.size() != 1)
      return im.fail("the value must be one number");
    value = v.values[0];
    c.type = v.type;
  }
  // A broadcast number: no weight is stored for it.
  im.define(0, View::constant(value, c.shape), c.type);
  return true;
}

bool cast(Importer &im) {
  int to = im.attrInt("to", onnx::TensorProto::FLOAT);
  const Value *v = im.value(im.input(0));
  if (!v)
    return false;
  bool fromFloat = isFloatType(v->type), toFloat = isFloatType(to);
  (void)fromFloat;
  if (to == onnx::TensorProto::STRING || to == onnx::TensorProto::UNDEFINED ||
      to > onnx::TensorProto::BFLOAT16)
    return im.fail("casts to " + typeName(to) + " are not supported");
  if (v->constant) {
    Const c = *v->constant;
    c.key.clear();
    c.type = to;
    if (!toFloat)
      for (double &x : c.values)
        x = to == onnx::TensorProto::BOOL ? (x != 0) : std::trunc(x);
    im.defineConst(0, c);
    return true;
  }
  // Cascade computes in f32, which holds every integer and boolean value
  // exactly (to 2^24): a cast to f32 or f64 changes nothing, a cast to a
  // narrower float rounds, a cast from a float to an integer truncates.
  std::string fn;
  if (to == onnx::TensorProto::FLOAT16)
    fn = "round_f16";
  else if (to == onnx::TensorProto::BFLOAT16)
    fn = "round_bf16";
  else if (to == onnx::TensorProto::BOOL)
    fn = "bool";
  else if (!toFloat && fromFloat)
    fn = "trunc";
  if (fn.empty() || (fn.rfind("round", 0) == 0 && v->type == to))
    fn = "";
  auto x = im.operandOf(0);
  if (!x)
    return false;
  return im.elementwiseNode(
      {*x},
      [fn](const Reads &r) {
        if (fn.empty())
          return r[0];
        return fn == "bool" ? "where(" + r[0] + " != 0, 1, 0)"
                            : fn + "(" + r[0] + ")";
      },
      to);
}

bool shapeOp(Importer &im) {
  const Value *v = im.value(im.input(0));
  if (!v)
    return false;
  std::vector<int64_t> s = v->shape();
  int64_t r = s.size(), start = im.attrInt("start", 0),
          end = im.attrInt("end", r);
  start = std::clamp(start < 0 ? start + r : start, (int64_t)0, r);
  end = std::clamp(end < 0 ? end + r : end, (int64_t)0, r);
  Const c;
  c.type = onnx::TensorProto::INT64;
  for (int64_t i = start; i < end; ++i)
    c.values.push_back(s[i]);
  c.shape = {(int64_t)c.values.size()};
  im.defineConst(0, c);
  return true;
}

bool identity(Importer &im) {
  const Value *v = im.concrete(0);
  if (!v)
    return false;
  if (v->constant)
    im.defineConst(0, *v->constant);
  else
    im.define(0, *v->view, v->type);
  return true;
}

/// Folds integer arithmetic on constants (shape computations).
bool foldBinary(Importer &im, const std::string &op) {
  const Value *a = im.value(im.input(0)), *b = im.value(im.input(1));
  if (!a || !b)
    return false;
  const Const &x = *a->constant, &y = *b->constant;
  if (x.values.size() != y.values.size() && x.values.size() != 1 &&
      y.values.size() != 1)
    return im.fail("folding needs operands of one shape or a scalar");
  Const c;
  c.type = x.type;
  c.shape = x.values.size() >= y.values.size() ? x.shape : y.shape;
  size_t n = std::max(x.values.size(), y.values.size());
  for (size_t i = 0; i < n; ++i) {
    double p = x.values[x.values.size() == 1 ? 0 : i];
    double q = y.values[y.values.size() == 1 ? 0 : i];
    double r = op == "+" ? p + q : op == "-" ? p - q : op == "*" ? p * q : 0;
    if (op == "/") {
      if (q == 0 && !isFloatType(c.type))
        return im.fail("integer division by zero");
      r = isFloatType(c.type) ? p / q : std::trunc(p / q);
    }
    c.values.push_back(r);
  }
  im.defineConst(0, c);
  return true;
}

bool isConst(Importer &im, unsigned i) {
  auto it = im.input(i);
  const Value *v = it.empty() ? nullptr : im.value(it);
  return v && v->constant;
}

} // namespace

/// `p` with its result dims permuted (dim k of the result is p's perm[k]).
std::shared_ptr<Pending> transposePending(const Pending &p,
                                          const std::vector<unsigned> &perm) {
  auto q = std::make_shared<Pending>(p);
  std::vector<int> newOf(perm.size());
  q->shape.clear();
  for (unsigned k = 0; k < perm.size(); ++k) {
    newOf[perm[k]] = k;
    q->shape.push_back(p.shape[perm[k]]);
  }
  for (auto &slotOf : q->slotOf)
    for (int &d : slotOf)
      d = d < 0 ? -1 : newOf[d];
  return q;
}

bool translateNode(Importer &im) {
  const std::string &op = im.node->op_type();
  // Integer arithmetic on values known now (shape computations) is folded.
  static const std::map<std::string, std::string> binaryOps = {
      {"Add", "+"}, {"Sub", "-"}, {"Mul", "*"}, {"Div", "/"}};
  if (auto it = binaryOps.find(op); it != binaryOps.end()) {
    if (isConst(im, 0) && isConst(im, 1) && !isFloatType(im.typeOf(0)))
      return foldBinary(im, it->second);
    return binary(im, it->second);
  }
  static const std::map<std::string, std::string> unaryFns = {
      {"Neg", "-"},     {"Exp", "exp"},          {"Log", "log"},
      {"Sqrt", "sqrt"}, {"Reciprocal", "recip"}, {"Erf", "erf"},
      {"Tanh", "tanh"}, {"Sigmoid", "sigmoid"},  {"Relu", "relu"},
      {"Abs", "abs"}};
  if (auto it = unaryFns.find(op); it != unaryFns.end())
    return unary(im, it->second);
  if (op == "Pow")
    return pow(im);
  if (op == "Equal" || op == "Less" || op == "Greater")
    return compare(im, op == "Equal" ? "==" : op == "Less" ? "<" : ">");
  if (op == "Where")
    return whereOp(im);
  if (op == "MatMul")
    return matmulOp(im);
  if (op == "Gemm")
    return gemm(im);
  if (op == "Einsum")
    return einsum(im);
  if (op == "Softmax" || op == "LogSoftmax")
    return softmax(im, op == "LogSoftmax");
  if (op == "LayerNormalization")
    return layerNorm(im);
  if (op == "ReduceMean")
    return reduceOp(im, "+", true);
  if (op == "ReduceSum")
    return reduceOp(im, "+", false);
  if (op == "ReduceMax")
    return reduceOp(im, "max", false);
  if (op == "Transpose")
    return transposeOp(im);
  if (op == "Reshape")
    return reshapeOp(im);
  if (op == "Flatten")
    return flatten(im);
  if (op == "Squeeze")
    return squeeze(im);
  if (op == "Unsqueeze")
    return unsqueeze(im);
  if (op == "Concat")
    return concat(im);
  if (op == "Slice")
    return sliceOp(im);
  if (op == "Split")
    return split(im);
  if (op == "Gather")
    return gather(im);
  if (op == "Constant")
    return constant(im);
  if (op == "ConstantOfShape")
    return constantOfShape(im);
  if (op == "Cast")
    return cast(im);
  if (op == "Shape")
    return shapeOp(im);
  if (op == "Identity" || op == "Dropout")
    return identity(im);
  return im.fail("operator " + op +
                 " is not supported (docs/onnx.md lists "
                 "the supported operators)");
}

} // namespace cascade::onnx_import
