//===- Access.cpp - Affine index arithmetic for cascade bodies ------------===//
#include "dialects/Cascade/IR/Access.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/IR/AffineExprVisitor.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace cascade {

std::optional<SmallVector<unsigned>> plainIndices(ReadOp read, bool distinct) {
  SmallVector<unsigned> dims;
  for (AffineExpr e : read.getMap().getResults()) {
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || (distinct && llvm::is_contained(dims, d.getPosition())))
      return std::nullopt;
    dims.push_back(d.getPosition());
  }
  return dims;
}

std::optional<LinearExpr> toLinear(AffineExpr e, unsigned numDims) {
  LinearExpr out;
  out.coeffs.assign(numDims, 0);
  // Walks `e` accumulating `scale * e` into `out`.
  std::function<bool(AffineExpr, int64_t)> add = [&](AffineExpr x,
                                                     int64_t scale) -> bool {
    if (auto c = dyn_cast<AffineConstantExpr>(x)) {
      out.constant += scale * c.getValue();
      return true;
    }
    if (auto d = dyn_cast<AffineDimExpr>(x)) {
      if (d.getPosition() >= numDims)
        return false;
      out.coeffs[d.getPosition()] += scale;
      return true;
    }
    auto bin = dyn_cast<AffineBinaryOpExpr>(x);
    if (!bin)
      return false;
    if (bin.getKind() == AffineExprKind::Add)
      return add(bin.getLHS(), scale) && add(bin.getRHS(), scale);
    if (bin.getKind() == AffineExprKind::Mul) {
      if (auto c = dyn_cast<AffineConstantExpr>(bin.getRHS()))
        return add(bin.getLHS(), scale * c.getValue());
      if (auto c = dyn_cast<AffineConstantExpr>(bin.getLHS()))
        return add(bin.getRHS(), scale * c.getValue());
    }
    return false;
  };
  if (!add(e, 1))
    return std::nullopt;
  return out;
}

std::pair<int64_t, int64_t> boundsOf(const LinearExpr &e,
                                     ArrayRef<int64_t> extents) {
  int64_t lo = e.constant, hi = e.constant;
  for (size_t i = 0, n = e.coeffs.size(); i < n; ++i) {
    int64_t a = 0, b = e.coeffs[i] * (extents[i] - 1);
    lo += std::min(a, b);
    hi += std::max(a, b);
  }
  return {lo, hi};
}

bool evalPredicate(StringRef pred, int64_t lhs, int64_t rhs) {
  if (pred == "lt")
    return lhs < rhs;
  if (pred == "le")
    return lhs <= rhs;
  if (pred == "gt")
    return lhs > rhs;
  if (pred == "ge")
    return lhs >= rhs;
  if (pred == "eq")
    return lhs == rhs;
  return lhs != rhs;
}

SmallVector<Guard> getEnclosingGuards(Operation *op, unsigned numDims) {
  SmallVector<Guard> guards;
  for (Operation *cur = op; cur && !isa<EinsumOp>(cur);
       cur = cur->getParentOp()) {
    auto where = dyn_cast_or_null<WhereOp>(cur->getParentOp());
    if (!where)
      continue;
    auto lhs = toLinear(where.getLhs().getResult(0), numDims);
    auto rhs = toLinear(where.getRhs().getResult(0), numDims);
    if (!lhs || !rhs)
      continue; // rejected by the where verifier
    bool taken = cur->getParentRegion() == &where.getThenRegion();
    guards.push_back({where.getPred(), *lhs, *rhs, taken});
  }
  return guards;
}

bool isReadAlwaysInBounds(ReadOp read, ArrayRef<int64_t> extents) {
  auto type = cast<RankedTensorType>(read.getTensor().getType());
  AffineMap map = read.getMap();
  for (unsigned r = 0; r < map.getNumResults(); ++r) {
    auto e = toLinear(map.getResult(r), map.getNumDims());
    if (!e)
      return false;
    auto [lo, hi] = boundsOf(*e, extents);
    if (lo < 0 || hi >= type.getDimSize(r))
      return false;
  }
  return true;
}

// Enumerating the dims a guarded read depends on is exact; the cap keeps the
// check cheap (the dims of an index expression and its guard are few).
static constexpr int64_t kMaxEnumeratedPoints = int64_t(1) << 22;

LogicalResult proveReadInBounds(ReadOp read, ArrayRef<int64_t> extents,
                                ArrayRef<StringRef> names, std::string &why) {
  auto type = cast<RankedTensorType>(read.getTensor().getType());
  AffineMap map = read.getMap();
  unsigned numDims = map.getNumDims();
  SmallVector<Guard> guards = getEnclosingGuards(read, numDims);
  for (unsigned r = 0; r < map.getNumResults(); ++r) {
    auto e = toLinear(map.getResult(r), numDims);
    if (!e) {
      why = "index expression is not affine";
      return failure();
    }
    int64_t size = type.getDimSize(r);
    auto [lo, hi] = boundsOf(*e, extents);
    if (lo >= 0 && hi < size)
      continue;
    // Enumerate the dims the index and its guards depend on.
    SmallVector<unsigned> dims;
    for (unsigned d = 0; d < numDims; ++d) {
      bool used = e->dependsOn(d);
      for (const Guard &g : guards)
        used |= g.lhs.dependsOn(d) || g.rhs.dependsOn(d);
      if (used)
        dims.push_back(d);
    }
    int64_t count = 1;
    for (unsigned d : dims)
      count = std::min(count * extents[d], kMaxEnumeratedPoints + 1);
    auto describe = [&](ArrayRef<int64_t> point) {
      std::string s;
      for (unsigned d : dims)
        s += llvm::formatv("{0}{1}={2}", s.empty() ? "" : ", ", names[d],
                           point[d]);
      return s;
    };
    if (guards.empty() || count > kMaxEnumeratedPoints) {
      SmallVector<int64_t> point(numDims, 0);
      // Report the extreme point that leaves the range.
      bool low = lo < 0;
      for (unsigned d = 0; d < numDims; ++d)
        if ((e->coeffs[d] > 0) != low && e->coeffs[d] != 0)
          point[d] = extents[d] - 1;
      why = llvm::formatv("index {0} of dimension {1} (extent {2}) at {3}",
                          e->eval(point), r, size, describe(point));
      if (!guards.empty())
        why += " (the enclosing where conditions could not be checked: too "
               "many points)";
      return failure();
    }
    SmallVector<int64_t> point(numDims, 0);
    for (int64_t i = 0; i < count; ++i) {
      int64_t rest = i;
      for (unsigned d : dims) {
        point[d] = rest % extents[d];
        rest /= extents[d];
      }
      if (!llvm::all_of(guards, [&](const Guard &g) { return g.holds(point); }))
        continue;
      int64_t v = e->eval(point);
      if (v < 0 || v >= size) {
        why = llvm::formatv("index {0} of dimension {1} (extent {2}) at {3}", v,
                            r, size, describe(point));
        return failure();
      }
    }
  }
  return success();
}

} // namespace cascade
