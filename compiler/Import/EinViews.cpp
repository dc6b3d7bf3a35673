//===- EinViews.cpp - ONNX values as affine views of .ein tensors ---------===//
#include "compiler/Import/EinViews.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace cascade::onnx_import {

View View::identity(const std::string &tensor,
                    const std::vector<int64_t> &shape) {
  View v;
  v.tensor = tensor;
  v.atoms = shape;
  v.baseShape = shape;
  for (unsigned i = 0; i < shape.size(); ++i) {
    v.dimEnd.push_back(i + 1);
    AffineIndex a;
    a.coef[i] = 1;
    v.base.push_back(a);
  }
  return v;
}

View View::constant(double value, const std::vector<int64_t> &shape) {
  View v = identity("", shape);
  v.base.clear();
  v.baseShape.clear();
  v.literal = value;
  return v;
}

int64_t View::extent(unsigned d) const {
  int64_t e = 1;
  for (unsigned a = dimBegin(d); a < dimEnd[d]; ++a)
    e *= atoms[a];
  return e;
}

std::vector<int64_t> View::shape() const {
  std::vector<int64_t> s;
  for (unsigned d = 0; d < rank(); ++d)
    s.push_back(extent(d));
  return s;
}

int64_t View::numElements() const {
  int64_t n = 1;
  for (int64_t a : atoms)
    n *= a;
  return n;
}

bool View::isPlainStorage() const {
  if (literal)
    return false;
  // The atoms other than extent-1 ones (always 0), in order, are the
  // stored dimensions.
  std::vector<unsigned> real;
  for (unsigned a = 0; a < atoms.size(); ++a)
    if (atoms[a] > 1)
      real.push_back(a);
  if (base.size() != real.size())
    return false;
  for (unsigned i = 0; i < base.size(); ++i)
    if (base[i].offset != 0 || base[i].coef.size() != 1 ||
        base[i].coef.begin()->first != real[i] ||
        base[i].coef.begin()->second != 1 || baseShape[i] != atoms[real[i]])
      return false;
  return true;
}

namespace {
/// Rewrites `v`'s stored indices with old atom i := subst[i] (an affine
/// expression over the new atoms), and installs the new atom structure.
View substitute(const View &v, const std::vector<AffineIndex> &subst,
                std::vector<int64_t> atoms, std::vector<unsigned> dimEnd) {
  View out;
  out.tensor = v.tensor;
  out.literal = v.literal;
  out.baseShape = v.baseShape;
  out.atoms = std::move(atoms);
  out.dimEnd = std::move(dimEnd);
  for (const AffineIndex &b : v.base) {
    AffineIndex n;
    n.offset = b.offset;
    for (auto [atom, c] : b.coef) {
      n.offset += c * subst[atom].offset;
      for (auto [na, nc] : subst[atom].coef)
        n.coef[na] += c * nc;
    }
    for (auto it = n.coef.begin(); it != n.coef.end();)
      it = it->second == 0 ? n.coef.erase(it) : std::next(it);
    out.base.push_back(n);
  }
  return out;
}
} // namespace

std::optional<View> reshape(const View &v, const std::vector<int64_t> &shape,
                            std::string &why) {
  int64_t total = 1;
  for (int64_t e : shape)
    total *= e;
  if (total != v.numElements()) {
    why = "the shapes hold different numbers of elements";
    return std::nullopt;
  }
  // Cut the old atoms (extent-1 atoms are always 0) into pieces, each of
  // which lies inside one new dimension.
  std::vector<AffineIndex> subst(v.atoms.size());
  std::vector<std::vector<int64_t>> piecesOfDim(shape.size());
  std::vector<std::vector<std::pair<unsigned, int64_t>>> piecesOfAtom(
      v.atoms.size()); // (dim, index within the dim's pieces)
  unsigned dim = 0;
  auto nextDim = [&] {
    while (dim < shape.size() && shape[dim] == 1)
      ++dim;
  };
  nextDim();
  int64_t remN = dim < shape.size() ? shape[dim] : 1;
  for (unsigned a = 0; a < v.atoms.size(); ++a) {
    int64_t remA = v.atoms[a];
    while (remA > 1) {
      int64_t piece;
      if (remA % remN == 0) {
        piece = remN;
      } else if (remN % remA == 0) {
        piece = remA;
      } else {
        why = "it mixes dimensions in a way no affine index can read";
        return std::nullopt;
      }
      piecesOfAtom[a].push_back({dim, (int64_t)piecesOfDim[dim].size()});
      piecesOfDim[dim].push_back(piece);
      remA /= piece;
      remN /= piece;
      if (remN == 1) {
        ++dim;
        nextDim();
        remN = dim < shape.size() ? shape[dim] : 1;
      }
    }
  }
  // Number the new atoms; a new extent-1 dimension gets one atom of its own.
  std::vector<int64_t> atoms;
  std::vector<unsigned> dimEnd;
  std::vector<unsigned> firstAtom(shape.size());
  for (unsigned d = 0; d < shape.size(); ++d) {
    firstAtom[d] = atoms.size();
    if (piecesOfDim[d].empty())
      atoms.push_back(1);
    for (int64_t p : piecesOfDim[d])
      atoms.push_back(p);
    dimEnd.push_back(atoms.size());
  }
  // Extent-1 atoms are always 0; pairing old ones with new extent-1 dims
  // in order only keeps the printed equations readable (`X[n1, ...]`).
  std::vector<unsigned> freshOnes;
  for (unsigned d = 0; d < shape.size(); ++d)
    if (piecesOfDim[d].empty())
      freshOnes.push_back(firstAtom[d]);
  size_t nextOne = 0;
  for (unsigned a = 0; a < v.atoms.size(); ++a)
    if (v.atoms[a] == 1 && nextOne < freshOnes.size())
      subst[a].coef[freshOnes[nextOne++]] = 1;
  for (unsigned a = 0; a < v.atoms.size(); ++a) {
    // Old atom = sum of its pieces, outermost piece most significant.
    int64_t stride = 1;
    for (auto it = piecesOfAtom[a].rbegin(); it != piecesOfAtom[a].rend();
         ++it) {
      unsigned id = firstAtom[it->first] + it->second;
      subst[a].coef[id] = stride;
      stride *= atoms[id];
    }
  }
  return substitute(v, subst, atoms, dimEnd);
}

View transpose(const View &v, const std::vector<unsigned> &perm) {
  std::vector<AffineIndex> subst(v.atoms.size());
  std::vector<int64_t> atoms;
  std::vector<unsigned> dimEnd;
  for (unsigned d : perm) {
    for (unsigned a = v.dimBegin(d); a < v.dimEnd[d]; ++a) {
      subst[a].coef[atoms.size()] = 1;
      atoms.push_back(v.atoms[a]);
    }
    dimEnd.push_back(atoms.size());
  }
  return substitute(v, subst, atoms, dimEnd);
}

std::optional<View> slice(const View &v, unsigned axis, int64_t start,
                          int64_t step, int64_t count, std::string &why) {
  if (step == 1 && start == 0 && count == v.extent(axis))
    return v;
  // The dimension's atoms other than extent-1 ones: slicing is affine on
  // one atom only.
  std::vector<unsigned> real;
  for (unsigned a = v.dimBegin(axis); a < v.dimEnd[axis]; ++a)
    if (v.atoms[a] > 1)
      real.push_back(a);
  if (real.size() > 1) {
    why = "the dimension was merged by a Reshape; slicing it needs a copy";
    return std::nullopt;
  }
  std::vector<AffineIndex> subst(v.atoms.size());
  std::vector<int64_t> atoms;
  std::vector<unsigned> dimEnd;
  for (unsigned d = 0; d < v.rank(); ++d) {
    if (d == axis) {
      // One atom of extent `count`; the old real atom is start + step * it.
      unsigned id = atoms.size();
      atoms.push_back(count);
      for (unsigned a = v.dimBegin(d); a < v.dimEnd[d]; ++a)
        if (v.atoms[a] > 1) {
          subst[a].coef[id] = step;
          subst[a].offset = start;
        }
    } else {
      for (unsigned a = v.dimBegin(d); a < v.dimEnd[d]; ++a) {
        subst[a].coef[atoms.size()] = 1;
        atoms.push_back(v.atoms[a]);
      }
    }
    dimEnd.push_back(atoms.size());
  }
  return substitute(v, subst, atoms, dimEnd);
}

View select(const View &v, unsigned axis, int64_t index) {
  std::vector<AffineIndex> subst(v.atoms.size());
  std::vector<int64_t> atoms;
  std::vector<unsigned> dimEnd;
  for (unsigned d = 0; d < v.rank(); ++d) {
    if (d == axis) {
      // The index's digits in the dimension's atoms, innermost last.
      int64_t rest = index;
      for (unsigned a = v.dimEnd[d]; a-- > v.dimBegin(d);) {
        subst[a].offset = rest % v.atoms[a];
        rest /= v.atoms[a];
      }
      continue;
    }
    for (unsigned a = v.dimBegin(d); a < v.dimEnd[d]; ++a) {
      subst[a].coef[atoms.size()] = 1;
      atoms.push_back(v.atoms[a]);
    }
    dimEnd.push_back(atoms.size());
  }
  return substitute(v, subst, atoms, dimEnd);
}

std::string RankTable::rank(int64_t extent, unsigned copy) {
  auto key = std::make_pair(extent, copy);
  auto it = names.find(key);
  if (it != names.end())
    return it->second;
  std::string name = "N" + std::to_string(extent);
  if (copy)
    name += "_" + std::to_string(copy);
  names[key] = name;
  return name;
}

std::string RankTable::declarations() const {
  std::string out;
  int64_t current = -1;
  for (const auto &[key, name] : names) {
    if (key.first != current) {
      out += (out.empty() ? "" : "\n") + std::string("ranks ");
      current = key.first;
    } else {
      out += ", ";
    }
    out += name + "=" + std::to_string(key.first);
  }
  return out.empty() ? out : out + "\n";
}

unsigned Equation::addSlot(int64_t extent, bool reduced) {
  slots.push_back({extent, reduced, {}, {}, {}});
  return slots.size() - 1;
}

unsigned Equation::addOperand(const View &v, const std::vector<int> &slotOf) {
  operands.push_back({v, slotOf});
  return operands.size() - 1;
}

bool Equation::finalize(std::string &why) {
  for (Slot &s : slots) {
    if (s.extent < 1) {
      why = "a dimension is empty; Cascade has no empty tensors";
      return false;
    }
    s.cuts = {1, s.extent};
  }
  for (const Operand &o : operands)
    for (unsigned d = 0; d < o.view.rank(); ++d) {
      if (o.slotOf[d] < 0)
        continue;
      Slot &s = slots[o.slotOf[d]];
      if (o.view.extent(d) != s.extent) {
        why = "dimension extents " + std::to_string(o.view.extent(d)) +
              " and " + std::to_string(s.extent) + " differ";
        return false;
      }
      int64_t p = 1;
      for (unsigned a = o.view.dimEnd[d]; a-- > o.view.dimBegin(d);) {
        p *= o.view.atoms[a];
        s.cuts.push_back(p);
      }
    }
  std::map<int64_t, unsigned> copies;
  for (Slot &s : slots) {
    std::sort(s.cuts.begin(), s.cuts.end());
    s.cuts.erase(std::unique(s.cuts.begin(), s.cuts.end()), s.cuts.end());
    for (size_t i = 1; i < s.cuts.size(); ++i)
      if (s.cuts[i] % s.cuts[i - 1]) {
        why = "two operands split a dimension of " + std::to_string(s.extent) +
              " differently (" + std::to_string(s.cuts[i - 1]) + " and " +
              std::to_string(s.cuts[i]) + " do not nest)";
        return false;
      }
    // An extent-1 slot has no atom: the dimension is not stored (a batch
    // of 1 costs no loop), and reads of it are at 0.
    for (size_t i = s.cuts.size(); i-- > 1;)
      s.atomExtents.push_back(s.cuts[i] / s.cuts[i - 1]);
    for (int64_t e : s.atomExtents) {
      std::string r = ranks.rank(e, copies[e]++);
      std::string var = r;
      var[0] = 'n';
      s.vars.push_back(var);
    }
  }
  return true;
}

std::string Equation::read(unsigned id) const {
  const Operand &o = operands[id];
  if (o.view.literal)
    return formatNumber(*o.view.literal);
  // Each of the view's atoms as sum of the slots' variables.
  std::vector<std::vector<std::pair<std::string, int64_t>>> atomValue(
      o.view.atoms.size());
  for (unsigned d = 0; d < o.view.rank(); ++d) {
    if (o.slotOf[d] < 0)
      continue;
    const Slot &s = slots[o.slotOf[d]];
    int64_t p = 1; // the product of the view's atoms inside atom a
    for (unsigned a = o.view.dimEnd[d]; a-- > o.view.dimBegin(d);) {
      int64_t e = o.view.atoms[a];
      int64_t inner = 1; // the product of the slot's atoms inside atom t
      for (size_t t = s.atomExtents.size(); t-- > 0;) {
        if (inner >= p && inner < p * e && s.atomExtents[t] > 1)
          atomValue[a].push_back({s.vars[t], inner / p});
        inner *= s.atomExtents[t];
      }
      p *= e;
    }
  }
  std::string out = o.view.tensor + "[";
  for (size_t b = 0; b < o.view.base.size(); ++b) {
    std::vector<std::pair<std::string, int64_t>> terms;
    for (auto [atom, c] : o.view.base[b].coef)
      for (const auto &[var, k] : atomValue[atom]) {
        const std::string &name = var;
        auto it = std::find_if(terms.begin(), terms.end(),
                               [&](auto &t) { return t.first == name; });
        if (it == terms.end())
          terms.push_back({var, c * k});
        else
          it->second += c * k;
      }
    std::string e;
    for (auto [var, c] : terms) {
      if (c == 0)
        continue;
      if (e.empty())
        e = c < 0 ? "-" : "";
      else
        e += c < 0 ? " - " : " + ";
      if (std::llabs(c) != 1)
        e += std::to_string(std::llabs(c)) + "*";
      e += var;
    }
    int64_t off = o.view.base[b].offset;
    // A plain index must match its dimension's extent; `+ 0` marks a read
    // of part of a dimension (docs/language.md, section 7).
    if (!off && terms.size() == 1 && terms[0].second == 1 &&
        o.view.baseShape[b] != 1) {
      bool plain = false;
      for (unsigned d = 0; d < o.view.rank(); ++d)
        if (o.slotOf[d] >= 0)
          for (size_t t = 0; t < slots[o.slotOf[d]].vars.size(); ++t)
            if (slots[o.slotOf[d]].vars[t] == terms[0].first)
              plain = slots[o.slotOf[d]].atomExtents[t] == o.view.baseShape[b];
      if (!plain)
        e += " + 0";
    }
    if (e.empty())
      e = std::to_string(off);
    else if (off)
      e += (off < 0 ? " - " : " + ") + std::to_string(std::llabs(off));
    out += (b ? ", " : "") + e;
  }
  return out + "]";
}

std::string Equation::lhs(const std::string &name) const {
  std::string out = name + "[";
  bool first = true;
  for (const Slot &s : slots)
    if (!s.reduced)
      for (const std::string &v : s.vars) {
        out += (first ? "" : ", ") + v;
        first = false;
      }
  return out + "]";
}

View Equation::result(const std::string &name) const {
  std::vector<int64_t> atoms;
  std::vector<unsigned> dimEnd;
  for (const Slot &s : slots)
    if (!s.reduced) {
      atoms.insert(atoms.end(), s.atomExtents.begin(), s.atomExtents.end());
      dimEnd.push_back(atoms.size());
    }
  View v = View::identity(name, atoms);
  v.dimEnd = dimEnd;
  return v;
}

std::vector<std::pair<std::string, int64_t>>
Equation::slotTerms(unsigned slot) const {
  const Slot &s = slots[slot];
  std::vector<std::pair<std::string, int64_t>> terms;
  int64_t stride = 1;
  for (size_t t = s.vars.size(); t-- > 0;) {
    if (s.atomExtents[t] > 1)
      terms.insert(terms.begin(), {s.vars[t], stride});
    stride *= s.atomExtents[t];
  }
  return terms;
}

std::string Equation::slotIndex(unsigned slot) const {
  const Slot &s = slots[slot];
  std::string e;
  int64_t stride = 1;
  for (size_t t = s.vars.size(); t-- > 0;) {
    if (s.atomExtents[t] > 1) {
      std::string term =
          stride == 1 ? s.vars[t] : std::to_string(stride) + "*" + s.vars[t];
      e = e.empty() ? term : term + " + " + e;
    }
    stride *= s.atomExtents[t];
  }
  return e.empty() ? "0" : e;
}

std::vector<std::vector<int64_t>>
Equation::operandRefinement(unsigned id) const {
  const Operand &o = operands[id];
  std::vector<std::vector<int64_t>> out;
  for (unsigned d = 0; d < o.view.rank(); ++d) {
    std::vector<int64_t> parts;
    if (o.slotOf[d] >= 0)
      for (int64_t e : slots[o.slotOf[d]].atomExtents)
        if (e > 1)
          parts.push_back(e);
    if (parts.empty())
      parts.push_back(o.view.extent(d));
    out.push_back(parts);
  }
  return out;
}

std::vector<std::string> Equation::tensors() const {
  std::vector<std::string> out;
  for (const Operand &o : operands)
    if (!o.view.literal)
      out.push_back(o.view.tensor);
  return out;
}

bool Equation::hasReduction() const {
  return std::any_of(slots.begin(), slots.end(), [](const Slot &s) {
    return s.reduced && !s.vars.empty();
  });
}

std::string Equation::reduction(const std::string &op) const {
  if (!hasReduction())
    return "";
  std::string out = " :: " + op + "(";
  bool first = true;
  for (const Slot &s : slots)
    if (s.reduced)
      for (const std::string &v : s.vars) {
        out += (first ? "" : ", ") + v;
        first = false;
      }
  return out + ")";
}

std::string formatNumber(double v) {
  if (std::isinf(v))
    return v < 0 ? "(-inf)" : "inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", std::fabs(v));
  std::string s = buf;
  return v < 0 ? "(-" + s + ")" : s;
}

} // namespace cascade::onnx_import
