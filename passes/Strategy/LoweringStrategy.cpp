//===- LoweringStrategy.cpp - How each equation executes ------------------===//
#include "passes/Strategy/LoweringStrategy.h"
#include "dialects/Cascade/IR/Access.h"
#include "passes/Conversion/ConstantIndexViews.h"
#include "passes/Conversion/LoopOrder.h"
#include "passes/Conversion/MaskedSteps.h"
#include "passes/Conversion/TiledKernel.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace cascade {

int64_t fitOnePassTile(int64_t tile, int64_t extent, bool fit) {
  int64_t t = std::min(tile, extent);
  while (fit && extent % t != 0 && t / 2 >= 32)
    t /= 2;
  return t;
}

bool isUnloweredModel(func::FuncOp f) {
  auto isTensor = [](Type t) { return isa<RankedTensorType>(t); };
  bool onTensors = llvm::any_of(f.getFunctionType().getInputs(), isTensor) ||
                   llvm::any_of(f.getFunctionType().getResults(), isTensor);
  return (f->hasAttr(attrs::kModel) || f->hasAttr(kLayerAttr)) && onTensors;
}

LoweringConfigAttr loweringConfig(EinsumOp op) {
  return op->getAttrOfType<LoweringConfigAttr>(kLoweringAttr);
}

std::string printSharedLoop(const SharedLoop &s) {
  std::string out = s.rank;
  if (s.part == LoopSchedule::Part::Outer)
    out += "/" + std::to_string(s.tile);
  else if (s.part == LoopSchedule::Part::Inner)
    out += "%" + std::to_string(s.tile);
  if (s.parallel)
    out += "*";
  return out;
}

std::optional<SharedLoop> parseSharedLoop(StringRef text,
                                          ArrayRef<EinsumOp> group) {
  SharedLoop s{"", LoopSchedule::Part::Whole, 0, 0, false};
  s.parallel = text.consume_back("*");
  size_t cut = text.find_first_of("/%");
  if (cut != StringRef::npos) {
    s.part = text[cut] == '/' ? LoopSchedule::Part::Outer
                              : LoopSchedule::Part::Inner;
    if (text.drop_front(cut + 1).getAsInteger(10, s.tile) || s.tile < 1)
      return std::nullopt;
    text = text.take_front(cut);
  }
  s.rank = text.str();
  for (EinsumOp op : group)
    for (unsigned d = 0; d < op.getNumLoops(); ++d)
      if (LoopSchedule::rankOf(op, d) == s.rank)
        s.extent = op.getExtents()[d];
  if (!s.extent)
    return std::nullopt;
  s.tile = std::min(s.tile, s.extent);
  return s;
}

/// The recurrence's body reads itself only at [m1, same other indices].
bool readsOnlyOwnPrevious(EinsumOp rec) {
  bool ok = true;
  rec.getBody().walk([&](ReadOp r) {
    if (rec.getOperandForArg(cast<BlockArgument>(r.getTensor())))
      return;
    for (auto [k, e] : llvm::enumerate(r.getMap().getResults()))
      ok &= e == getAffineDimExpr(k, rec.getContext());
  });
  return ok;
}

/// `op` reads `tensor` (a recurrence) only at its current step, m1 + 1.
bool readsOnlyCurrent(EinsumOp op, Value tensor) {
  bool ok = true;
  op.getBody().walk([&](ReadOp r) {
    if (op.getOperandForArg(cast<BlockArgument>(r.getTensor())) != tensor)
      return;
    auto pos = toLinear(r.getMap().getResult(0), op.getNumLoops());
    ok &= pos && pos->constant == 1 && pos->coeffs[0] == 1;
  });
  return ok;
}

/// The constant a recurrence starts from, when its init equation is a
/// constant that only this recurrence reads (`init RM[0,p] = -inf`): it is
/// then stored directly and the init tensor is never built.
std::optional<double> constantInit(EinsumOp rec) {
  auto init = rec.getInit().getDefiningOp<EinsumOp>();
  if (!init || !init.getResult().hasOneUse() || !init.getInputs().empty())
    return std::nullopt;
  if (auto c = dyn_cast_or_null<ConstOp>(init.getYieldedOp()))
    if (!init.hasReduction())
      return c.getValue().convertToDouble();
  return std::nullopt;
}

/// When `red` reduces `prod`'s result over one of its coordinates and
/// only reads it (`LM[m1,h,p] = QK_T[m1,m0,h,p] :: max(m0)`): for each of
/// `prod`'s output coordinates, the index of `red` that reads it.
std::optional<SmallVector<unsigned>> rowReduction(EinsumOp prod, EinsumOp red) {
  if (!red.hasReduction() || red.isRecurrence() ||
      red.getInputs().size() != 1 || red.getInputs()[0] != prod.getResult())
    return std::nullopt;
  Operation *yielded = red.getYieldedOp();
  auto read = yielded ? dyn_cast<ReadOp>(yielded) : ReadOp();
  if (!read || red.getNumLoops() != red.getNumOutputDims() + 1)
    return std::nullopt;
  std::optional<SmallVector<unsigned>> dims = plainIndices(read);
  if (!dims || dims->size() != red.getNumLoops())
    return std::nullopt;
  return dims;
}

/// chooseContractionKernel on `op` as the kernel sees it: operands read at
/// constant coordinates through views (ConstantIndexViews).
static std::optional<KernelChoice>
kernelThroughViews(EinsumOp op, const KernelMachine &machine,
                   ArrayRef<int64_t> ext = {}, bool fixed0 = false,
                   bool restricted = false) {
  EinsumOp view = detachedConstantIndexView(op);
  std::optional<KernelChoice> k = chooseContractionKernel(
      view ? view : op, machine, ext, fixed0, restricted);
  if (view)
    view->erase();
  return k;
}

namespace {

/// A recurrence group with the equations that read its final values,
/// inside shared loops the default heuristic chose.
struct TiledGroup {
  SmallVector<EinsumOp> ops;
  SmallVector<SharedLoop> shared;
};

/// The decisions for one function, in the order they depend on each other:
/// fusion groups, then epilogues, then each equation's loops.
struct Planner {
  Planner(func::FuncOp f, const StrategyOptions &opt, bool warn = true)
      : f(f), opt(opt), warn(warn) {}

  LogicalResult plan();

  func::FuncOp f;
  const StrategyOptions &opt;
  bool warn; // about schedule directives (once per compilation)
  LoopSchedule sched;
  SmallVector<EinsumOp> einsums;
  SmallVector<SmallVector<EinsumOp>> groups; // recurrence groups
  llvm::MapVector<StringRef, SmallVector<EinsumOp>> userGroups;
  llvm::DenseMap<StringRef, SmallVector<SharedLoop>> userShared;
  SmallVector<TiledGroup> tiled;
  llvm::DenseMap<Operation *, EinsumOp> epilogueOf; // producer -> consumer
  llvm::DenseSet<Operation *> inProducer;           // consumers

  SmallVector<EinsumOp> *groupOf(EinsumOp op) {
    for (auto &g : groups)
      if (llvm::is_contained(g, op))
        return &g;
    return nullptr;
  }

  TiledGroup *tiledGroupOf(EinsumOp op) {
    for (TiledGroup &t : tiled)
      if (llvm::is_contained(t.ops, op))
        return &t;
    return nullptr;
  }

  SmallVector<EinsumOp> *userGroupOf(EinsumOp op) {
    auto name = op->getAttrOfType<StringAttr>("cascade.fuse");
    if (!name)
      return nullptr;
    auto it = userGroups.find(name.getValue());
    return it == userGroups.end() ? nullptr : &it->second;
  }

  /// Recurrence groups: the equations whose first index is the iterative
  /// index m1 of a recurrence (the 1-pass cascade's LM, RM, SLN, SLD, SLNV,
  /// PRM, RD, RNV). When every read among them is at the same step (m1,
  /// or m1+1 of a recurrence) and the rest of the model reads only the
  /// final position of the recurrences, the group runs as one loop over
  /// m1: the per-step tensors shrink to one step and the recurrences to two
  /// positions, so no M x P tensor is materialized.
  SmallVector<SmallVector<EinsumOp>>
  findRecurrenceGroups(ArrayRef<EinsumOp> einsums, func::ReturnOp ret) {
    SmallVector<SmallVector<EinsumOp>> groups;
    llvm::DenseSet<Operation *> grouped;
    for (EinsumOp rec : einsums) {
      if (rec.getIterative() != 0 || grouped.count(rec))
        continue;
      StringRef index = rec.getIndexName(0);
      int64_t extent = rec.getExtents()[0];
      SmallVector<EinsumOp> members;
      for (EinsumOp op : einsums)
        if (op.getNumOutputDims() > 0 && op.getIndexName(0) == index &&
            op.getExtents()[0] == extent &&
            (!op.isRecurrence() || op.getIterative() == 0) &&
            !grouped.count(op))
          members.push_back(op);
      llvm::DenseSet<Value> results;
      for (EinsumOp m : members)
        results.insert(m.getResult());
      auto valid = [&]() {
        for (Value v : ret.getOperands())
          if (results.count(v))
            return false;
        auto first = members.front()->getIterator();
        auto last = members.back()->getIterator();
        for (EinsumOp op : einsums) {
          bool member = llvm::is_contained(members, op);
          bool between = !member && first->isBeforeInBlock(op) &&
                         op->isBeforeInBlock(&*last);
          WalkResult r = op.getBody().walk([&](ReadOp read) {
            auto arg = cast<BlockArgument>(read.getTensor());
            Value t = op.getOperandForArg(arg);
            if (!t)
              return WalkResult::advance(); // a recurrence's own state
            auto producer = t.getDefiningOp<EinsumOp>();
            if (!producer || !results.count(t))
              return WalkResult::advance();
            if (between)
              return WalkResult::interrupt(); // depends on the group
            auto pos = toLinear(read.getMap().getResult(0), op.getNumLoops());
            if (!pos)
              return WalkResult::interrupt();
            bool onlyStep =
                pos->coeffs[0] == 1 &&
                llvm::count(pos->coeffs, 0) + 1 == (int64_t)pos->coeffs.size();
            if (member) {
              bool ok =
                  producer.isRecurrence()
                      ? onlyStep && (pos->constant == 0 || pos->constant == 1)
                      : onlyStep && pos->constant == 0;
              return ok ? WalkResult::advance() : WalkResult::interrupt();
            }
            // After the group: only the final value of a recurrence.
            bool final =
                producer.isRecurrence() &&
                llvm::all_of(pos->coeffs, [](int64_t c) { return c == 0; }) &&
                pos->constant == extent;
            return final ? WalkResult::advance() : WalkResult::interrupt();
          });
          if (r.wasInterrupted())
            return false;
        }
        return true;
      };
      if (members.size() < 2 || !valid())
        continue;
      for (EinsumOp m : members)
        grouped.insert(m);
      groups.push_back(members);
    }
    return groups;
  }

  /// A tensor computed by an equation that only stores a constant into a
  /// recurrence's position 0 is stored by that recurrence's init copy.
  static bool foldedInit(EinsumOp op) {
    for (Operation *user : op.getResult().getUsers())
      if (auto rec = dyn_cast<EinsumOp>(user))
        if (rec.getInit() == op.getResult() && constantInit(rec))
          return true;
    return false;
  }

  /// The default heuristic's shared loops for recurrence group `g` (see
  /// the pass description): `g` and the equations that read it (its
  /// tail), inside parallel loops over the ranks they can all share.
  /// None when the schedule shapes any of them, when something else reads
  /// the group, or when no rank can be shared.
  std::optional<TiledGroup> planTiledGroup(ArrayRef<EinsumOp> g,
                                           ArrayRef<EinsumOp> einsums) {
    for (EinsumOp m : g)
      if (sched.touches(m) || userGroupOf(m))
        return std::nullopt;
    TiledGroup t;
    t.ops.assign(g.begin(), g.end());
    llvm::DenseSet<Value> results;
    for (EinsumOp m : g)
      results.insert(m.getResult());
    auto readsAny = [](EinsumOp op, const llvm::DenseSet<Value> &values) {
      return llvm::any_of(op->getOperands(),
                          [&](Value v) { return values.contains(v); });
    };
    auto after = llvm::find(einsums, g.back());
    for (EinsumOp op : llvm::make_range(std::next(after), einsums.end())) {
      if (!readsAny(op, results))
        continue;
      if (op.isRecurrence() || sched.touches(op) || userGroupOf(op) ||
          groupOf(op))
        return std::nullopt;
      t.ops.push_back(op);
    }
    if (t.ops.size() == g.size())
      return std::nullopt; // the group's results are read by nothing
    // The tail runs where its last equation is: nothing between may read it.
    llvm::DenseSet<Value> tailResults;
    for (EinsumOp op : ArrayRef(t.ops).drop_front(g.size()))
      tailResults.insert(op.getResult());
    for (EinsumOp op :
         llvm::make_range(std::next(after), llvm::find(einsums, t.ops.back())))
      if (!llvm::is_contained(t.ops, op) && readsAny(op, tailResults))
        return std::nullopt;
    // Every rank of the last equation's output that all can share: tiled
    // when it is innermost in some equation (the vector lanes), else one
    // index per iteration.
    EinsumOp last = t.ops.back();
    for (unsigned d = 0; d < last.getNumOutputDims(); ++d) {
      std::string rank = LoopSchedule::rankOf(last, d);
      if (!cannotShare(t.ops, rank).empty())
        continue;
      int64_t extent = last.getExtents()[d];
      bool innermost = llvm::any_of(t.ops, [&](EinsumOp op) {
        unsigned n = op.getNumOutputDims();
        return n && LoopSchedule::rankOf(op, n - 1) == rank;
      });
      if (!innermost) {
        t.shared.push_back({rank, LoopSchedule::Part::Whole, extent, 0, true});
        continue;
      }
      for (int64_t tile : {64, 32, 16})
        if (extent > tile && extent % tile == 0) {
          t.shared.push_back(
              {rank, LoopSchedule::Part::Outer, extent, tile, true});
          break;
        }
    }
    if (t.shared.empty())
      return std::nullopt;
    return t;
  }

  static StringRef groupName(EinsumOp op) {
    auto name = op->getAttrOfType<StringAttr>("cascade.fuse");
    return name ? name.getValue() : StringRef();
  }

  static llvm::MapVector<StringRef, SmallVector<EinsumOp>>
  collectUserGroups(ArrayRef<EinsumOp> einsums) {
    llvm::MapVector<StringRef, SmallVector<EinsumOp>> out;
    for (EinsumOp op : einsums)
      if (StringRef g = groupName(op); !g.empty())
        out[g].push_back(op);
    return out;
  }

  /// A recurrence group runs inside a user's group only whole, and only
  /// when nothing outside that group reads it (its buffers then live for
  /// one iteration of the shared loops).
  void dropStraddlingGroups() {
    llvm::erase_if(groups, [&](SmallVector<EinsumOp> &g) {
      StringRef name = groupName(g.front());
      for (EinsumOp m : g) {
        if (groupName(m) != name)
          return true;
        if (name.empty())
          continue;
        for (Operation *user : m.getResult().getUsers()) {
          auto reader = dyn_cast<EinsumOp>(user);
          if (!reader || groupName(reader) != name)
            return true;
        }
      }
      return false;
    });
  }

  /// Directives that name nothing left after the rewrites say so.
  void warnUnusedDirectives(ArrayRef<EinsumOp> einsums) {
    if (sched.bindLoc)
      emitWarning(*sched.bindLoc)
          << "'bind' maps loops to GPU blocks and threads: it has no effect "
             "on a CPU target";
    for (const auto &entry : sched.orderLocs) {
      StringRef target = entry.getKey();
      bool used = llvm::any_of(einsums, [&](EinsumOp op) {
        return op.getName() == target || groupName(op) == target;
      });
      if (!used)
        emitWarning(entry.getValue())
            << "'order " << target
            << ":' names no equation left after the rewrites";
    }
    for (const auto &entry : sched.fuseLocs)
      if (!llvm::any_of(einsums, [&](EinsumOp op) {
            return groupName(op) == entry.getKey();
          }))
        emitWarning(entry.getValue())
            << "group '" << entry.getKey()
            << "' has no equation left after the rewrites";
  }

  /// An elementwise equation that `op`'s contraction kernel can compute as
  /// it stores each vector of sums, so that `op`'s result never goes to
  /// memory (bias, GELU, residual: `FA[p,f] = gelu(FI[p,f] + BI[f])` after
  /// `FI[p,f] = X1[p,d] * WI[f,d]`). It must be the only reader of op's
  /// result, read it once at the same point, and have no `where`; each of
  /// its other reads must be a plain read whose coordinates skip op's last
  /// index (one broadcast element) or end with it (a vector load); its other
  /// inputs must be computed before op. Neither is scheduled or grouped.
  EinsumOp storeConsumer(EinsumOp op) {
    if (!opt.kernels || !op.hasReduction() || op.isRecurrence() ||
        sched.touches(op) || !op.getResult().hasOneUse())
      return {};
    auto cons = dyn_cast<EinsumOp>(*op.getResult().getUsers().begin());
    if (!cons || cons->getBlock() != op->getBlock() || sched.touches(cons) ||
        cons.hasReduction() || cons.isRecurrence() ||
        cons.getNumLoops() != cons.getNumOutputDims() || groupOf(cons) ||
        userGroupOf(cons) || tiledGroupOf(cons) || foldedInit(cons))
      return {};
    auto opType = cast<RankedTensorType>(op.getType());
    auto consType = cast<RankedTensorType>(cons.getType());
    if (opType.getShape() != consType.getShape() ||
        !opType.getElementType().isF32() || !consType.getElementType().isF32())
      return {};
    unsigned numOut = cons.getNumOutputDims();
    if (numOut == 0)
      return {};
    int producerReads = 0;
    bool ok = true;
    cons.getBody().walk([&](Operation *o) {
      if (isa<WhereOp>(o))
        ok = false;
      auto read = dyn_cast<ReadOp>(o);
      if (!read)
        return;
      std::optional<SmallVector<unsigned>> dims = plainIndices(read);
      if (!dims) {
        ok = false;
        return;
      }
      unsigned arg = cast<BlockArgument>(read.getTensor()).getArgNumber();
      if (cons.getInputs()[arg] == op.getResult()) {
        ++producerReads;
        ok &= *dims == llvm::to_vector(llvm::seq<unsigned>(0, numOut));
      } else if (llvm::is_contained(*dims, numOut - 1)) {
        ok &= dims->back() == numOut - 1;
      }
    });
    if (!ok || producerReads != 1)
      return {};
    for (Value in : cons.getInputs())
      if (Operation *def = in.getDefiningOp();
          def && def != op && !def->isBeforeInBlock(op))
        return {};
    return cons;
  }

  /// Why loop `name` cannot enclose every equation of `group` (empty when
  /// it can): each must have its rank as an output index that is not a
  /// recurrence's iterative one, and read what the others compute at the
  /// same index of that rank.
  std::string cannotShare(ArrayRef<EinsumOp> group, StringRef rank) {
    auto dimOf = [&](EinsumOp op) -> std::optional<unsigned> {
      for (unsigned d = 0; d < op.getNumOutputDims(); ++d)
        if (LoopSchedule::rankOf(op, d) == rank)
          return d;
      return std::nullopt;
    };
    for (EinsumOp op : group) {
      if (foldedInit(op))
        continue;
      std::optional<unsigned> d = dimOf(op);
      if (!d)
        return ("'" + op.getName() + "' has no output index over " + rank)
            .str();
      if (op.getIterative() == (int64_t)*d)
        return ("'" + op.getName() + "' iterates over " + rank).str();
      if (op.isRecurrence() && !readsOnlyOwnPrevious(op))
        return ("'" + op.getName() + "' reads other positions of itself").str();
      std::string why;
      op.getBody().walk([&](ReadOp read) {
        Value t = op.getOperandForArg(cast<BlockArgument>(read.getTensor()));
        auto producer = t ? t.getDefiningOp<EinsumOp>() : EinsumOp();
        if (!producer || !llvm::is_contained(group, producer) ||
            foldedInit(producer))
          return;
        std::optional<unsigned> pd = dimOf(producer);
        if (!pd || read.getMap().getResult(*pd) !=
                       getAffineDimExpr(*d, op.getContext()))
          why = ("'" + op.getName() + "' reads '" + producer.getName() +
                 "' at another index of " + rank)
                    .str();
      });
      if (!why.empty())
        return why;
      if (op.isRecurrence())
        if (auto init = op.getInit().getDefiningOp<EinsumOp>();
            init && llvm::is_contained(group, init) && !foldedInit(init)) {
          unsigned k = *d - ((int64_t)*op.getIterative() < (int64_t)*d ? 1 : 0);
          if (k >= (unsigned)init.getNumOutputDims() ||
              LoopSchedule::rankOf(init, k) != rank)
            return ("'" + op.getName() + "' starts from '" + init.getName() +
                    "' at another index of " + rank)
                .str();
        }
    }
    return "";
  }

  /// Nothing outside a group may sit between its equations and read it
  /// (the group runs where its last equation is).
  LogicalResult checkGroupsContiguous() {
    for (auto &[name, group] : userGroups) {
      Location loc = EinsumOp(group.back()).getLoc();
      if (auto it = sched.fuseLocs.find(name); it != sched.fuseLocs.end())
        loc = it->second;
      for (Operation *op = group.front()->getNextNode(); op != group.back();
           op = op->getNextNode()) {
        auto other = dyn_cast<EinsumOp>(op);
        if (!other || groupName(other) == name)
          continue;
        for (Value in : other->getOperands())
          if (auto p = in.getDefiningOp<EinsumOp>(); p && groupName(p) == name)
            return emitError(loc)
                   << "cannot fuse group '" << name << "': '" << other.getName()
                   << "' is not in it but reads '" << p.getName()
                   << "' of it before the group ends";
      }
    }
    return success();
  }

  /// The shared loops of a user's `fuse` group: the leading loops of the
  /// group's order that every equation can share, else the first rank of
  /// the last equation's output that they can.
  FailureOr<SmallVector<SharedLoop>> planUserGroup(ArrayRef<EinsumOp> group) {
    using Part = LoopSchedule::Part;
    StringRef name = groupName(group.front());
    Location loc = EinsumOp(group.back()).getLoc();
    if (auto it = sched.fuseLocs.find(name); it != sched.fuseLocs.end())
      loc = it->second;
    SmallVector<SharedLoop> shared;
    auto extentOf = [&](StringRef rank) -> int64_t {
      for (EinsumOp op : group)
        for (unsigned d = 0; d < op.getNumLoops(); ++d)
          if (LoopSchedule::rankOf(op, d) == rank)
            return op.getExtents()[d];
      return 0;
    };
    auto addShared = [&](StringRef loopName) -> std::string {
      auto what = sched.loopOf(loopName);
      if (!what)
        return ("'" + loopName + "' is split: name one of its parts").str();
      auto [rank, part] = *what;
      if (part == Part::Inner &&
          !llvm::any_of(shared, [&, r = rank](const SharedLoop &s) {
            return s.rank == r && s.part == Part::Outer;
          }))
        return "its outer part is not shared";
      if (std::string why = cannotShare(group, rank); !why.empty())
        return why;
      int64_t tile = part == Part::Whole ? 0 : sched.splits[rank].tile;
      // One loop of a nest is parallel: the first the schedule names.
      bool par =
          sched.parallel.contains(loopName) &&
          !llvm::any_of(shared, [](const SharedLoop &s) { return s.parallel; });
      shared.push_back(
          {rank, part, extentOf(rank), std::min(tile, extentOf(rank)), par});
      return "";
    };
    auto it = sched.orders.find(name);
    if (it != sched.orders.end() && !it->second.empty()) {
      for (auto [i, loopName] : llvm::enumerate(it->second)) {
        std::string why = addShared(loopName);
        if (why.empty())
          continue;
        if (i == 0)
          return emitError(sched.orderLocs.at(name))
                 << "loop '" << loopName << "' cannot enclose group '" << name
                 << "': " << why;
        break; // the rest of the order applies inside each equation
      }
    } else {
      EinsumOp last = group.back();
      for (unsigned d = 0; d < last.getNumOutputDims() && shared.empty(); ++d) {
        std::string rank = LoopSchedule::rankOf(last, d);
        auto split = sched.splits.find(rank);
        (void)addShared(split == sched.splits.end() ? rank
                                                    : split->second.outer);
      }
      if (shared.empty())
        return emitError(loc)
               << "cannot fuse group '" << name
               << "': no rank is an output index of each of its equations, "
                  "read at the same index by the others";
    }
    return shared;
  }

  LoweringConfigAttr decide(EinsumOp op);

  /// Why no contraction gets a kernel with these options.
  std::string noKernels() const {
    return opt.gpu ? "the GPU targets have no micro-kernels yet (one "
                     "thread per output)"
                   : "kernels are off";
  }
};

LogicalResult Planner::plan() {
  Block &entry = f.getBody().front();
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  einsums.assign(entry.getOps<EinsumOp>().begin(),
                 entry.getOps<EinsumOp>().end());
  sched = LoopSchedule::fromFunction(f);
  if (warn)
    warnUnusedDirectives(einsums);
  userGroups = collectUserGroups(einsums);
  if (opt.fuseRecurrences)
    groups = findRecurrenceGroups(einsums, ret);
  dropStraddlingGroups();
  if (failed(checkGroupsContiguous()))
    return failure();
  for (auto &[name, group] : userGroups) {
    FailureOr<SmallVector<SharedLoop>> shared = planUserGroup(group);
    if (failed(shared))
      return failure();
    userShared[name] = std::move(*shared);
  }
  if (opt.tileRecurrences)
    for (auto &g : groups)
      if (std::optional<TiledGroup> t = planTiledGroup(g, einsums))
        tiled.push_back(std::move(*t));
  // Epilogues: an elementwise consumer in its producer kernel's stores, and
  // inside a recurrence group a row reduction of the previous member's
  // tile, done from registers (or as the producer's nest stores each value)
  // instead of as a pass over the tile.
  for (EinsumOp op : einsums) {
    if (foldedInit(op) || groupOf(op) || tiledGroupOf(op) || userGroupOf(op) ||
        inProducer.contains(op))
      continue;
    // Only a broadcast kernel without reduction blocks holds final sums in
    // registers to store through the consumer.
    std::optional<KernelChoice> k =
        opt.kernels ? kernelThroughViews(op, opt.machine) : std::nullopt;
    if (!k || k->form == KernelForm::Dot || k->kc)
      continue;
    if (EinsumOp cons = storeConsumer(op)) {
      epilogueOf[op] = cons;
      inProducer.insert(cons);
    }
  }
  for (auto &g : groups)
    for (unsigned i = 0; i + 1 < g.size(); ++i)
      if (rowReduction(g[i], g[i + 1]) && !sched.touches(g[i]) &&
          !sched.touches(g[i + 1]) && !inProducer.contains(g[i])) {
        epilogueOf[g[i]] = g[i + 1];
        inProducer.insert(g[i + 1]);
      }
  return success();
}

/// A contraction: a sum over reduced indices of a product of reads.
static bool isContraction(EinsumOp op) {
  return op.hasReduction() && !op.isRecurrence() &&
         op.getReduction() == "add" && op.getInputs().size() >= 2;
}

LoweringConfigAttr Planner::decide(EinsumOp op) {
  MLIRContext *ctx = op.getContext();
  Execution exec = Execution::Nest;
  bool par = false;
  std::optional<KernelChoice> kernel;
  std::string steps, fused, epilogue, reason;
  ArrayAttr sharedAttr;
  if (auto *g = groupOf(op))
    steps = (EinsumOp(g->back()).getName() + ".steps").str();
  ArrayRef<SharedLoop> shared;
  if (TiledGroup *t = tiledGroupOf(op)) {
    fused = (EinsumOp(t->ops.back()).getName() + ".tiles").str();
    shared = t->shared;
  } else if (userGroupOf(op)) {
    fused = groupName(op).str();
    shared = userShared[groupName(op)];
  }
  if (!shared.empty()) {
    SmallVector<Attribute> loops;
    for (const SharedLoop &s : shared)
      loops.push_back(StringAttr::get(ctx, printSharedLoop(s)));
    sharedAttr = ArrayAttr::get(ctx, loops);
  }
  bool underParallel =
      llvm::any_of(shared, [](const SharedLoop &s) { return s.parallel; });
  if (EinsumOp cons = epilogueOf.lookup(op))
    epilogue = cons.getName().str();

  if (foldedInit(op)) {
    exec = Execution::InitFolded;
  } else if (inProducer.contains(op)) {
    exec = Execution::InProducer;
  } else if (sched.touches(op)) {
    exec = Execution::ScheduledNest;
    std::string why = whyScheduleExcludesKernel(op, sched);
    if (groupOf(op))
      why = "a step of recurrence group " + steps;
    if (isContraction(op) && opt.kernels && why.empty()) {
      // The tile's extents depend on the split: the kernel is checked on the
      // whole extents and again on each tile when the loops are built.
      kernel = kernelThroughViews(op, opt.machine, {}, false, true);
      if (kernel)
        exec = Execution::TiledKernel;
      else
        reason = "no micro-kernel matches its shape";
    } else if (isContraction(op)) {
      reason = opt.kernels ? why : noKernels();
    }
    // The loops the lowering builds, with `parallel` where it applies it.
    SmallVector<Value> fixed(op.getNumLoops());
    SmallVector<const RankBound *> bound(op.getNumLoops(), nullptr);
    bool crossReads = op.isRecurrence() && !readsOnlyOwnPrevious(op);
    for (const LoopLevel &l :
         scheduledLevels(op, sched, chooseLoopOrder(op), fixed, bound,
                         crossReads, underParallel))
      par |= l.parallel;
  } else {
    // The extents the kernel sees: index 0 fixed to a recurrence group's
    // step, shared loops restricting theirs to one index or one tile.
    bool fixed0 = groupOf(op) != nullptr, restricted = false, fits = true;
    SmallVector<int64_t> ext(op.getExtents());
    for (const SharedLoop &s : shared)
      for (unsigned d = fixed0 ? 1 : 0; d < op.getNumLoops(); ++d) {
        if (LoopSchedule::rankOf(op, d) != s.rank)
          continue;
        restricted = true;
        if (s.part == LoopSchedule::Part::Whole)
          ext[d] = 1;
        else if (s.extent % s.tile == 0)
          ext[d] = s.tile;
        else
          fits = false; // a remainder tile: no static extent
      }
    if (opt.kernels && fits && !op.isRecurrence())
      kernel = kernelThroughViews(op, opt.machine, ext, fixed0, restricted);
    if (kernel) {
      exec = Execution::Kernel;
      par = opt.parallel && !underParallel;
    } else if (opt.kernels && !fixed0 && shared.empty() &&
               matchesTransposeKernel(op,
                                      opt.machine.registers >= 32 ? 16 : 8)) {
      exec = Execution::TransposeKernel;
      par = opt.parallel;
    } else {
      SmallVector<unsigned> order;
      for (unsigned d : chooseLoopOrder(op))
        if (!fixed0 || d != 0)
          order.push_back(d);
      par = opt.parallel && !underParallel && worthParallel(op, order);
      if (isContraction(op))
        reason = !opt.kernels ? noKernels()
                 : !fits      ? "a shared loop's remainder tile"
                              : "no micro-kernel matches its shape";
    }
  }
  SmallVector<int64_t> registerTile;
  if (kernel)
    registerTile = {kernel->mr, kernel->nr, kernel->lanes};
  // The one-pass loop skips the steps whose scores are all masked.
  bool skipMasked = false;
  if (SmallVector<EinsumOp> *g = groupOf(op))
    skipMasked = maskedScores(*g) == op;
  return LoweringConfigAttr::get(
      ctx, exec, par, kernel ? kernel->form : KernelForm::None, registerTile,
      kernel ? kernel->kc : 0, steps, fused, sharedAttr, epilogue, reason,
      skipMasked);
}

} // namespace

LogicalResult chooseStrategy(func::FuncOp f, const StrategyOptions &options) {
  StrategyOptions effective = options;
  if (effective.gpu)
    effective.parallel = effective.kernels = effective.fuseRecurrences =
        effective.tileRecurrences = false;
  Planner planner(f, effective);
  if (failed(planner.plan()))
    return failure();
  SmallVector<std::pair<EinsumOp, LoweringConfigAttr>> configs;
  for (EinsumOp op : planner.einsums)
    configs.push_back({op, planner.decide(op)});
  for (auto [op, config] : configs)
    op->setAttr(kLoweringAttr, config);
  return success();
}

/// Whether a nest of `op` may run its outer loop on the thread pool: it
/// runs over an output index (not a reduced or iterative one) of at least
/// two iterations, and no shared loop around it is parallel already.
static bool parallelNestIsLegal(EinsumOp op, LoweringConfigAttr config) {
  if (ArrayAttr shared = config.getShared())
    for (StringRef loop : shared.getAsValueRange<StringAttr>())
      if (loop.ends_with("*"))
        return false;
  bool fixed0 = !config.getSteps().empty();
  for (unsigned d : chooseLoopOrder(op)) {
    if (fixed0 && d == 0)
      continue;
    return !op.isReducedDim(d) && op.getIterative() != (int64_t)d &&
           op.getExtents()[d] >= 2;
  }
  return false;
}

LogicalResult verifyConfiguration(func::FuncOp f,
                                  const StrategyOptions &options) {
  // What the strategy could decide with every fusion on: a configuration
  // may fuse less than that, never otherwise.
  StrategyOptions all = options;
  all.kernels = all.fuseRecurrences = all.tileRecurrences = true;
  Planner planner(f, all, /*warn=*/false);
  if (failed(planner.plan()))
    return failure();
  llvm::DenseMap<Operation *, LoweringConfigAttr> could;
  for (EinsumOp op : planner.einsums)
    could[op] = planner.decide(op);
  auto bad = [](EinsumOp op) {
    return op.emitError() << "cascade-lower-to-loops: the configuration of '"
                          << op.getName() << "' ";
  };
  // A group is configured whole or not at all, and only as the strategy
  // can prove it legal.
  auto checkGroups = [&](auto field, StringRef what) -> LogicalResult {
    llvm::MapVector<StringRef, SmallVector<EinsumOp>> groups;
    for (EinsumOp op : planner.einsums)
      if (StringRef name = field(could[op]); !name.empty())
        groups[name].push_back(op);
    for (EinsumOp op : planner.einsums) {
      StringRef name = field(loweringConfig(op));
      if (!name.empty() && name != field(could[op]))
        return bad(op) << "puts it in " << what << " '" << name
                       << "', which the strategy cannot prove legal";
    }
    for (auto &entry : groups) {
      StringRef name = entry.first;
      ArrayRef<EinsumOp> ops = entry.second;
      unsigned configured = llvm::count_if(
          ops, [&](EinsumOp op) { return field(loweringConfig(op)) == name; });
      if (configured != 0 && configured != ops.size())
        return bad(ops.front()) << "names " << what << " '" << name
                                << "' for only some of its equations";
    }
    return success();
  };
  if (failed(checkGroups([](LoweringConfigAttr c) { return c.getSteps(); },
                         "recurrence group")) ||
      failed(checkGroups([](LoweringConfigAttr c) { return c.getFused(); },
                         "fused group")))
    return failure();
  for (EinsumOp op : planner.einsums) {
    LoweringConfigAttr have = loweringConfig(op), can = could[op];
    if (!have.getFused().empty() && have.getShared() != can.getShared())
      return bad(op) << "gives group '" << have.getFused()
                     << "' other shared loops than the strategy can prove "
                        "legal";
    if (!have.getEpilogue().empty() && have.getEpilogue() != can.getEpilogue())
      return bad(op) << "computes '" << have.getEpilogue()
                     << "' in its stores, which the strategy cannot prove "
                        "legal";
    if (have.getExecution() == Execution::InitFolded &&
        can.getExecution() != Execution::InitFolded)
      return bad(op) << "folds it into a recurrence's init copy, but it is "
                        "not a constant only that recurrence reads";
    if (have.getExecution() == Execution::Nest && have.getParallel() &&
        !parallelNestIsLegal(op, have))
      return bad(op) << "runs its outer loop in parallel, which is not an "
                        "output loop of its own";
  }
  return success();
}

} // namespace cascade
