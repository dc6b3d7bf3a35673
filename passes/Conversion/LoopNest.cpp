//===- LoopNest.cpp - Schedule loop directives and loop-nest building ----===//
#include "passes/Conversion/LoopNest.h"
#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"

using namespace mlir;

namespace cascade {

LoopSchedule LoopSchedule::fromFunction(func::FuncOp f) {
  LoopSchedule s;
  auto records = f->getAttrOfType<ArrayAttr>("cascade.schedule");
  if (!records)
    return s;
  for (auto d : records.getAsRange<DictionaryAttr>()) {
    StringRef kind = d.getAs<StringAttr>("kind").getValue();
    SmallVector<std::string> names;
    for (StringRef n :
         d.getAs<ArrayAttr>("names").getAsValueRange<StringAttr>())
      names.push_back(n.str());
    SmallVector<int64_t> numbers;
    for (Attribute n : d.getAs<ArrayAttr>("numbers"))
      numbers.push_back(cast<IntegerAttr>(n).getInt());
    Location loc = f.getLoc();
    if (auto l = d.getAs<LocationAttr>("loc"))
      loc = l;
    if (kind == "split" && names.size() == 3 && numbers.size() == 1) {
      s.splits[names[0]] = {names[1], names[2], numbers[0]};
    } else if (kind == "fuse" && names.size() == 3) {
      s.fuseLocs.insert({names[2], loc});
    } else if (kind == "order" && !names.empty()) {
      s.orders[names[0]] =
          std::vector<std::string>(names.begin() + 1, names.end());
      s.orderLocs.insert({names[0], loc});
    } else if (kind == "parallel" || kind == "vectorize") {
      for (const std::string &n : names)
        (kind == "parallel" ? s.parallel : s.vectorize).insert(n);
    } else if (kind == "unroll" && names.size() == 1 && numbers.size() == 1) {
      s.unroll[names[0]] = numbers[0];
    } else if (kind == "bind") {
      s.bindLoc = loc;
    }
  }
  return s;
}

std::string LoopSchedule::rankOf(EinsumOp op, unsigned d) {
  return op.getIndexName(d).upper();
}

std::optional<std::pair<std::string, LoopSchedule::Part>>
LoopSchedule::loopOf(StringRef name) const {
  for (const auto &[rank, split] : splits) {
    if (split.outer == name)
      return std::pair{rank.str(), Part::Outer};
    if (split.inner == name)
      return std::pair{rank.str(), Part::Inner};
  }
  if (splits.count(name))
    return std::nullopt; // a split rank has no loop of its own name
  return std::pair{name.str(), Part::Whole};
}

bool LoopSchedule::touches(EinsumOp op) const {
  if (op->hasAttr("cascade.fuse") || orderFor(op))
    return true;
  for (unsigned d = 0; d < op.getNumLoops(); ++d) {
    std::string rank = rankOf(op, d);
    if (splits.count(rank))
      return true;
    if (parallel.contains(rank) || vectorize.contains(rank) ||
        unroll.count(rank))
      return true;
  }
  return false;
}

const std::vector<std::string> *LoopSchedule::orderFor(EinsumOp op) const {
  if (auto it = orders.find(op.getName()); it != orders.end())
    return &it->second;
  if (auto group = op->getAttrOfType<StringAttr>("cascade.fuse"))
    if (auto it = orders.find(group.getValue()); it != orders.end())
      return &it->second;
  return nullptr;
}

SmallVector<LoopLevel> scheduledLevels(EinsumOp op, const LoopSchedule &sched,
                                       ArrayRef<unsigned> defaultOrder,
                                       ArrayRef<Value> fixed,
                                       ArrayRef<const RankBound *> bound,
                                       bool crossReads, bool parallelTaken) {
  using Part = LoopSchedule::Part;
  ArrayRef<int64_t> extents = op.getExtents();
  unsigned numOut = op.getNumOutputDims();
  std::optional<int64_t> iter = op.getIterative();
  // Levels in the default order, split ranks with their tile loops first.
  SmallVector<LoopLevel> outers, levels;
  for (unsigned d : defaultOrder) {
    if (fixed[d])
      continue;
    LoopLevel l;
    l.dim = d;
    l.extent = extents[d];
    l.name = LoopSchedule::rankOf(op, d);
    if (bound[d]) {
      // The rest of a shared tile: the split's inner loop.
      l.lb = bound[d]->lb;
      l.ub = bound[d]->ub;
      if (auto it = sched.splits.find(l.name); it != sched.splits.end())
        l.name = it->second.inner;
    } else if (auto it = sched.splits.find(l.name); it != sched.splits.end()) {
      l.tile = std::min(it->second.tile, l.extent);
      LoopLevel o = l;
      o.part = Part::Outer;
      o.name = it->second.outer;
      outers.push_back(o);
      l.part = Part::Inner;
      l.name = it->second.inner;
    }
    levels.push_back(l);
  }
  // (Not levels.insert: an empty range self-moves each element.)
  outers.append(levels.begin(), levels.end());
  levels = std::move(outers);
  auto moveTo = [&](unsigned from, unsigned to) {
    LoopLevel l = levels[from];
    levels.erase(levels.begin() + from);
    levels.insert(levels.begin() + to, l);
  };
  // The schedule's order first, then the loops it does not name.
  const std::vector<std::string> *order = sched.orderFor(op);
  auto named = [&](const LoopLevel &l) {
    return order && llvm::is_contained(*order, l.name);
  };
  if (order) {
    SmallVector<LoopLevel> sorted;
    for (const std::string &n : *order)
      for (const LoopLevel &l : levels)
        if (l.name == n)
          sorted.push_back(l);
    for (const LoopLevel &l : levels)
      if (!named(l))
        sorted.push_back(l);
    levels = std::move(sorted);
  }
  // Vectorized loops innermost, unless the order places them.
  for (unsigned i = 0, n = levels.size(); i < n; ++i)
    if (sched.vectorize.contains(levels[i].name) && !named(levels[i])) {
      moveTo(i, levels.size() - 1);
      --i, --n;
    }
  // A tile's loop inside its tile-number loop.
  for (bool moved = true; moved;) {
    moved = false;
    for (unsigned i = 0; i < levels.size() && !moved; ++i)
      for (unsigned j = i + 1; j < levels.size() && !moved; ++j)
        if (levels[i].part == Part::Inner && levels[j].part == Part::Outer &&
            levels[j].dim == levels[i].dim) {
          moveTo(i, j);
          moved = true;
        }
  }
  if (crossReads) {
    SmallVector<LoopLevel> sorted;
    for (bool first : {true, false})
      for (const LoopLevel &l : levels)
        if ((l.dim == *iter) == first)
          sorted.push_back(l);
    levels = std::move(sorted);
  }
  for (LoopLevel &l : levels) {
    bool canRunParallel = l.dim < numOut && l.dim != iter && !crossReads;
    if (!parallelTaken && canRunParallel && sched.parallel.contains(l.name))
      l.parallel = parallelTaken = true;
    l.vectorize = sched.vectorize.contains(l.name);
    if (auto it = sched.unroll.find(l.name); it != sched.unroll.end())
      l.unroll = it->second;
  }

  return levels;
}

std::pair<Value, Value> levelBounds(OpBuilder &b, Location loc,
                                    const LoopLevel &level, Value tileNumber) {
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  switch (level.part) {
  case LoopSchedule::Part::Outer:
    return {cst(0), cst((level.extent + level.tile - 1) / level.tile)};
  case LoopSchedule::Part::Inner: {
    Value lb = arith::MulIOp::create(b, loc, tileNumber, cst(level.tile));
    Value ub = arith::AddIOp::create(b, loc, lb, cst(level.tile));
    // Only a remainder tile needs the min (a constant trip count otherwise).
    if (level.extent % level.tile != 0)
      ub = arith::MinSIOp::create(b, loc, ub, cst(level.extent));
    return {lb, ub};
  }
  case LoopSchedule::Part::Whole:
    if (level.lb)
      return {level.lb, level.ub};
    return {cst(level.lowerBound), cst(level.extent)};
  }
  llvm_unreachable("covered switch");
}

void buildLoopNest(OpBuilder &b, Location loc, ArrayRef<LoopLevel> levels,
                   ArrayRef<Value> fixed,
                   function_ref<void(OpBuilder &, ArrayRef<Value>)> body,
                   const Accumulation *accumulate) {
  unsigned numDims = fixed.size();
  for (const LoopLevel &l : levels)
    numDims = std::max(numDims, l.dim + 1);
  SmallVector<Value> byDim(numDims), tileNumber(numDims);
  for (auto [d, v] : llvm::enumerate(fixed))
    byDim[d] = v;
  SmallVector<std::pair<scf::ForOp, int64_t>> toUnroll;
  Attribute vectorizeAnnotation = parseAttribute(
      "#llvm.loop_annotation<vectorize = #llvm.loop_vectorize<disable = "
      "false>>",
      b.getContext());

  std::function<void(OpBuilder &, unsigned)> level = [&](OpBuilder &nb,
                                                         unsigned depth) {
    if (depth == levels.size())
      return body(nb, byDim);
    const LoopLevel &l = levels[depth];
    auto [lb, ub] = levelBounds(nb, loc, l, tileNumber[l.dim]);
    Value one = arith::ConstantIndexOp::create(nb, loc, 1);
    auto bind = [&](Value iv) {
      (l.part == LoopSchedule::Part::Outer ? tileNumber : byDim)[l.dim] = iv;
    };
    if (l.parallel) {
      scf::ParallelOp::create(nb, loc, ValueRange{lb}, ValueRange{ub},
                              ValueRange{one},
                              [&](OpBuilder &pb, Location, ValueRange ivs) {
                                bind(ivs[0]);
                                level(pb, depth + 1);
                                scf::ReduceOp::create(pb, loc);
                              });
      return;
    }
    scf::ForOp loop;
    if (accumulate && depth + 1 == levels.size()) {
      Value init = accumulate->init(nb, byDim);
      loop = scf::ForOp::create(
          nb, loc, lb, ub, one, ValueRange{init},
          [&](OpBuilder &fb, Location, Value iv, ValueRange carried) {
            bind(iv);
            scf::YieldOp::create(fb, loc,
                                 accumulate->step(fb, byDim, carried[0]));
          });
      byDim[l.dim] = {};
      accumulate->done(nb, byDim, loop.getResult(0));
    } else {
      loop = scf::ForOp::create(
          nb, loc, lb, ub, one, ValueRange{},
          [&](OpBuilder &fb, Location, Value iv, ValueRange) {
            bind(iv);
            level(fb, depth + 1);
            scf::YieldOp::create(fb, loc);
          });
    }
    if (l.vectorize && vectorizeAnnotation)
      loop->setAttr("llvm.loop_annotation", vectorizeAnnotation);
    if (l.unroll > 1)
      toUnroll.push_back({loop, l.unroll});
  };
  level(b, 0);
  // Innermost first, so an outer unroll copies the unrolled inner loop.
  for (auto &[loop, factor] : llvm::reverse(toUnroll))
    (void)loopUnrollByFactor(loop, factor);
}

} // namespace cascade
