//===- CascadeAnalysis.cpp - Pass counts, FLOPs and bytes
//------------------===//
#include "passes/Analysis/CascadeAnalysis.h"
#include "dialects/Cascade/IR/Access.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace cascade {

namespace {

std::string rankOf(EinsumOp op, unsigned d) {
  return op.getIndexName(d).upper();
}

/// Rank names of a tensor's dimensions: declared for arguments, the output
/// indices' ranks for einsum results.
SmallVector<std::string> dimRanks(Value tensor) {
  SmallVector<std::string> out;
  if (auto op = tensor.getDefiningOp<EinsumOp>()) {
    for (unsigned d = 0; d < op.getNumOutputDims(); ++d)
      out.push_back(rankOf(op, d));
    return out;
  }
  auto arg = cast<BlockArgument>(tensor);
  auto func = cast<func::FuncOp>(arg.getOwner()->getParentOp());
  if (auto dims =
          func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), attrs::kDims))
    for (auto s : dims.getAsValueRange<StringAttr>())
      out.push_back(s.str());
  return out;
}

struct ReadInfo {
  Value tensor;
  AffineMap map;
};

SmallVector<ReadInfo> readsOf(EinsumOp op) {
  SmallVector<ReadInfo> reads;
  op.getBody().walk([&](ReadOp r) {
    Value outer = op.getOperandForArg(cast<BlockArgument>(r.getTensor()));
    reads.push_back({outer ? outer : op.getResult(), r.getMap()});
  });
  return reads;
}

int64_t countPasses(func::FuncOp func, StringRef rank) {
  struct State {
    int64_t pass = 0;
    bool complete = false;
  };
  llvm::DenseMap<Value, State> state; // arguments: pass 0, not complete
  int64_t passes = 0;
  for (EinsumOp op : func.getOps<EinsumOp>()) {
    bool traverses = false, reduces = false;
    for (unsigned d = 0; d < op.getNumLoops(); ++d)
      if (rankOf(op, d) == rank) {
        traverses = true;
        reduces |= op.isReducedDim(d);
      }
    State s;
    s.pass = traverses ? 1 : 0;
    for (const ReadInfo &r : readsOf(op)) {
      if (r.tensor == op.getResult())
        continue; // a recurrence's own previous step
      State in = state.lookup(r.tensor);
      bool complete = in.complete;
      // Reading a recurrence over this rank at a constant position (its
      // final value) needs the whole traversal.
      if (auto producer = r.tensor.getDefiningOp<EinsumOp>())
        if (auto iter = producer.getIterative())
          if (rankOf(producer, *iter) == rank &&
              isa<AffineConstantExpr>(r.map.getResult(*iter)))
            complete = true;
      if (traverses) {
        s.pass = std::max(s.pass, in.pass + (complete ? 1 : 0));
      } else {
        s.pass = std::max(s.pass, in.pass);
        s.complete |= complete;
      }
    }
    if (traverses) {
      s.complete = reduces;
      passes = std::max(passes, s.pass);
    }
    state[op.getResult()] = s;
  }
  return passes;
}

int64_t bytesOf(Type t) {
  return cast<RankedTensorType>(t).getNumElements() * 4;
}

} // namespace

EquationCost equationCost(EinsumOp op) {
  EquationCost c;
  c.name = op.getName().str();
  c.points = 1;
  for (int64_t e : op.getExtents())
    c.points *= e;
  int64_t opsPerPoint = op.hasReduction() ? 1 : 0;
  op.getBody().walk([&](Operation *o) {
    if (isa<UnaryOp, BinaryOp, SelectOp>(o))
      ++opsPerPoint;
  });
  c.flops = c.points * opsPerPoint;
  c.bytes = bytesOf(op.getResult().getType());
  for (Value in : op.getInputs())
    c.bytes += bytesOf(in.getType());
  if (op.getInit())
    c.bytes += bytesOf(op.getInit().getType());
  return c;
}

CascadeAnalysis analyzeCascade(func::FuncOp func) {
  CascadeAnalysis result;
  // Ranks in order of first appearance, and the split parts of each rank:
  // the ranks of the indices that address a dimension of that rank through
  // a combination such as m1 * M0 + m0 (the outer part has the largest
  // coefficient).
  llvm::MapVector<std::string, int64_t, llvm::StringMap<unsigned>> order;
  llvm::StringMap<std::pair<std::string, int64_t>> outerPart;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    for (const std::string &r : dimRanks(func.getArgument(i)))
      order.insert({r, 0});
  for (EinsumOp op : func.getOps<EinsumOp>()) {
    for (unsigned d = 0; d < op.getNumLoops(); ++d)
      order.insert({rankOf(op, d), 0});
    for (const ReadInfo &r : readsOf(op)) {
      SmallVector<std::string> ranks = dimRanks(r.tensor);
      for (unsigned k = 0; k < r.map.getNumResults() && k < ranks.size(); ++k) {
        auto lin = toLinear(r.map.getResult(k), op.getNumLoops());
        if (!lin ||
            llvm::count_if(lin->coeffs, [](int64_t c) { return c != 0; }) < 2)
          continue;
        unsigned outer = 0;
        for (unsigned d = 0; d < op.getNumLoops(); ++d)
          if (std::abs(lin->coeffs[d]) > std::abs(lin->coeffs[outer]))
            outer = d;
        std::string part = rankOf(op, outer);
        if (part != ranks[k] && std::abs(lin->coeffs[outer]) > 1) {
          auto &best = outerPart[ranks[k]];
          if (std::abs(lin->coeffs[outer]) > best.second)
            best = {part, std::abs(lin->coeffs[outer])};
        }
      }
    }
  }
  for (auto &[rank, count] : order) {
    auto it = outerPart.find(rank);
    count = countPasses(func, it != outerPart.end() ? it->second.first
                                                    : StringRef(rank));
  }
  result.passes = std::move(order);

  for (EinsumOp op : func.getOps<EinsumOp>())
    result.equations.push_back(equationCost(op));
  return result;
}

} // namespace cascade
