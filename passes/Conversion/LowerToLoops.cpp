//===- LowerToLoops.cpp - cascade.einsum to scf loop nests
//-----------------===//
#include "dialects/Cascade/IR/Access.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "passes/Conversion/BodyEmitter.h"
#include "passes/Conversion/ConstantIndexViews.h"
#include "passes/Conversion/ContractionKernels.h"
#include "passes/Conversion/LoopNest.h"
#include "passes/Conversion/LoopOrder.h"
#include "passes/Conversion/MaskedSteps.h"
#include "passes/Conversion/ProfileSteps.h"
#include "passes/Conversion/TiledKernel.h"
#include "passes/Passes.h"
#include "passes/Strategy/LoweringStrategy.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include <cmath>

namespace cascade {
#define GEN_PASS_DEF_CASCADELOWERTOLOOPS
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;
using namespace cascade;

namespace {

/// A fused group with the loops its equations share (the default
/// heuristic's tiles around a recurrence group, or a schedule's `fuse`).
struct FusedGroup {
  SmallVector<EinsumOp> ops;
  SmallVector<SharedLoop> shared;
  Location loc;
};

/// Called after a loop nest stores the value `v` at output coordinates
/// `at`: for a consumer fused into the nest.
using PointHook = std::function<void(OpBuilder &, ArrayRef<Value> at, Value v)>;

/// Builds a loop nest over `extents` in `order`; `body` gets the induction
/// variables indexed by dimension (not by loop depth). With `parallelOuter`
/// the outermost loop is an `scf.parallel` (its iterations write disjoint
/// outputs), which the OpenMP conversion runs on the thread pool.
void buildNest(OpBuilder &b, Location loc, ArrayRef<int64_t> extents,
               ArrayRef<unsigned> order,
               function_ref<void(OpBuilder &, ArrayRef<Value>)> body,
               ArrayRef<int64_t> lowerBounds = {}, bool parallelOuter = false,
               Value fixedDim0 = {}) {
  SmallVector<LoopLevel> levels;
  for (unsigned d : order) {
    LoopLevel l;
    l.dim = d;
    l.extent = extents[d];
    l.lowerBound = lowerBounds.empty() ? 0 : lowerBounds[d];
    l.parallel = parallelOuter && levels.empty();
    levels.push_back(l);
  }
  SmallVector<Value> fixed(extents.size());
  if (fixedDim0)
    fixed[0] = fixedDim0; // the step of an enclosing fused loop
  buildLoopNest(b, loc, levels, fixed, body);
}

SmallVector<unsigned> identityOrder(unsigned n) {
  return llvm::to_vector(llvm::seq<unsigned>(0, n));
}

struct LowerToLoops
    : public cascade::impl::CascadeLowerToLoopsBase<LowerToLoops> {
  using CascadeLowerToLoopsBase::CascadeLowerToLoopsBase;
  void runOnOperation() override {
    if (l2Bytes < 1) {
      getOperation().emitError("cascade-lower-to-loops: l2-bytes must be "
                               "positive");
      return signalPassFailure();
    }
    if (kUnroll < 1) {
      getOperation().emitError("cascade-lower-to-loops: k-unroll must be "
                               "positive");
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> models;
    // Functions whose signature is already on buffers were lowered before.
    getOperation().walk([&](func::FuncOp f) {
      if (isUnloweredModel(f))
        models.push_back(f);
    });
    // Functions that carry no configuration get the strategy's default
    // (cascade-choose-strategy with this pass's options) first.
    StrategyOptions options;
    options.parallel = parallel;
    options.kernels = kernels;
    options.fuseRecurrences = fuseRecurrences;
    options.tileRecurrences = tileRecurrences;
    options.machine = KernelMachine{registers, l2Bytes, kUnroll};
    for (func::FuncOp f : models) {
      bool configured = true;
      f.walk([&](EinsumOp op) { configured &= (bool)loweringConfig(op); });
      if (failed(configured ? verifyConfiguration(f, options)
                            : chooseStrategy(f, options)))
        return signalPassFailure();
    }
    for (func::FuncOp f : models) {
      if (failed(lowerFunction(f)))
        return signalPassFailure();
    }
  }

  static MemRefType bufferType(Type t) {
    auto tt = cast<RankedTensorType>(t);
    return MemRefType::get(tt.getShape(), tt.getElementType());
  }

  LogicalResult lowerFunction(func::FuncOp f) {
    OpBuilder b(f.getContext());
    Block &entry = f.getBody().front();
    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    unsigned numArgs = f.getNumArguments();
    // Names the steps for cascade-profile-steps (while f is on tensors).
    std::optional<StepRecorder> recorder;
    if (steps)
      recorder.emplace(f);

    // New signature: the old arguments as buffers, then one out-param per
    // result.
    SmallVector<Type> argTypes;
    for (Type t : f.getArgumentTypes())
      argTypes.push_back(bufferType(t));
    for (Type t : f.getResultTypes())
      argTypes.push_back(bufferType(t));
    IRMapping buffers;
    for (unsigned i = 0; i < numArgs; ++i) {
      BlockArgument old = entry.getArgument(i);
      old.setType(argTypes[i]);
      buffers.map(old, old);
    }
    SmallVector<Value> outParams;
    for (unsigned i = 0; i < f.getNumResults(); ++i)
      outParams.push_back(entry.addArgument(argTypes[numArgs + i], f.getLoc()));
    SmallVector<DictionaryAttr> argAttrs, resAttrs;
    f.getAllArgAttrs(argAttrs);
    f.getAllResultAttrs(resAttrs);
    for (unsigned i = 0; i < f.getNumResults(); ++i) {
      NamedAttrList attrsList(resAttrs[i]);
      attrsList.set(attrs::kRole, b.getStringAttr("output"));
      argAttrs.push_back(attrsList.getDictionary(f.getContext()));
    }
    for (DictionaryAttr &d : argAttrs) {
      NamedAttrList l(d);
      l.set("llvm.noalias", b.getUnitAttr());
      d = l.getDictionary(f.getContext());
    }
    f.setType(b.getFunctionType(argTypes, {}));
    f.setAllArgAttrs(argAttrs);
    f.setAllResultAttrs(ArrayRef<DictionaryAttr>{});

    // Results returned as outputs are computed directly into the out-param.
    llvm::DenseMap<Value, Value> outputBuffer;
    for (auto [i, v] : llvm::enumerate(ret.getOperands()))
      if (isa_and_nonnull<EinsumOp, func::CallOp>(v.getDefiningOp()) &&
          !outputBuffer.count(v))
        outputBuffer[v] = outParams[i];

    // Last user of each value, for deallocation.
    llvm::DenseMap<Value, Operation *> lastUse;
    for (Operation &o : entry)
      for (Value v : o.getOperands())
        lastUse[v] = &o;

    SmallVector<EinsumOp> einsums(entry.getOps<EinsumOp>());
    SmallVector<Value> allocated;
    sched = LoopSchedule::fromFunction(f);
    if (failed(collectGroups(f, einsums)))
      return failure();
    SmallVector<func::CallOp> calls;
    for (Operation &o : llvm::make_early_inc_range(entry)) {
      if (auto call = dyn_cast<func::CallOp>(o)) {
        lowerCall(b, call, outputBuffer, buffers, allocated, lastUse);
        calls.push_back(call);
        if (recorder)
          recorder->recordUntimed(call); // the layer times its own steps
        continue;
      }
      auto op = dyn_cast<EinsumOp>(o);
      if (!op)
        continue;
      b.setInsertionPoint(op);
      if (foldedInit(op))
        continue; // stored directly by its recurrence's init copy
      if (FusedGroup *g = fusedGroupOf(op)) {
        if (op != g->ops.back())
          continue; // the whole group is emitted at its last equation
        if (failed(lowerSharedLoops(b, g->loc, g->ops, g->shared, outputBuffer,
                                    buffers, allocated, lastUse)))
          return failure();
        if (recorder)
          recorder->record(op, g->ops);
        continue;
      }
      if (SmallVector<EinsumOp> *group = groupOf(op)) {
        if (op != group->back())
          continue; // the whole group is emitted at its last member
        if (failed(lowerGroup(b, *group, buffers, allocated, lastUse, {},
                              /*nested=*/false)))
          return failure();
        if (recorder)
          recorder->record(op, *group);
        continue;
      }
      if (loweringConfig(op).getExecution() == Execution::InProducer &&
          storeFused.contains(op))
        continue; // computed by its producer's kernel
      Value buf = mapBuffer(b, op, outputBuffer, buffers, allocated);
      SmallVector<EinsumOp, 2> done{op};
      if (EinsumOp cons = epilogueConsumer(op)) {
        if (failed(lowerWithConsumer(b, op, cons, buf, outputBuffer, buffers,
                                     allocated)))
          return failure();
        storeFused.insert(cons);
        done.push_back(cons);
      } else if (failed(lowerEinsum(b, op, buf, buffers))) {
        return failure();
      }
      // Free inputs whose last use this was.
      for (EinsumOp d : done)
        for (Value in : d->getOperands())
          if (lastUse.lookup(in) == d.getOperation() &&
              llvm::is_contained(allocated, in))
            memref::DeallocOp::create(b, d.getLoc(), buffers.lookup(in));
      if (recorder)
        recorder->record(op, done);
    }
    if (recorder)
      recorder->finish();
    // Copy results that are not computed in place (inputs returned, or one
    // einsum returned twice).
    b.setInsertionPoint(ret);
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      Value src = buffers.lookup(v);
      if (src != outParams[i])
        memref::CopyOp::create(b, ret.getLoc(), src, outParams[i]);
    }
    for (Value v : allocated)
      if (!lastUse.count(v) || isa<func::ReturnOp>(lastUse.lookup(v)))
        if (buffers.lookup(v) &&
            !llvm::is_contained(outParams, buffers.lookup(v)))
          memref::DeallocOp::create(b, ret.getLoc(), buffers.lookup(v));
    func::ReturnOp::create(b, ret.getLoc());
    ret.erase();
    for (func::CallOp call : calls) {
      call->dropAllUses();
      call.erase();
    }
    for (EinsumOp op : llvm::reverse(einsums)) {
      op.getResult().dropAllUses();
      op.erase();
    }
    return success();
  }

  /// Lowers `op` with `cons` (storeConsumer) computed in its kernel's
  /// stores; where no kernel takes the hook, lowers both as usual.
  LogicalResult
  lowerWithConsumer(OpBuilder &b, EinsumOp op, EinsumOp cons, Value buf,
                    const llvm::DenseMap<Value, Value> &outputBuffer,
                    IRMapping &buffers, SmallVector<Value> &allocated) {
    Location loc = cons.getLoc();
    Value consBuf = mapBuffer(b, cons, outputBuffer, buffers, allocated);
    SmallVector<Value> args;
    for (Value in : cons.getInputs())
      args.push_back(buffers.lookup(in));
    unsigned last = cons.getNumOutputDims() - 1;
    bool used = false, ok = true;
    TileStore store{
        [&](OpBuilder &sb, ArrayRef<Value> at, Value v) {
          auto type = cast<VectorType>(v.getType());
          auto read = [&](ReadOp r) -> Value {
            unsigned arg = cast<BlockArgument>(r.getTensor()).getArgNumber();
            if (cons.getInputs()[arg] == op.getResult())
              return v;
            SmallVector<Value> idx;
            SmallVector<unsigned> dims = *plainIndices(r);
            for (unsigned d : dims)
              idx.push_back(at[d]);
            SmallVector<Value> pos =
                bufferIndex(sb, loc, args[arg], idx, &layouts);
            if (!dims.empty() && dims.back() == last)
              return vector::LoadOp::create(sb, loc, type, args[arg], pos);
            return vector::BroadcastOp::create(
                sb, loc, type, memref::LoadOp::create(sb, loc, args[arg], pos));
          };
          BodyEmitter emitter(sb, cons, type, read);
          Value r = emitter.emitRegion(cons.getBody());
          if (!r) {
            ok = false;
            return;
          }
          vector::StoreOp::create(sb, loc, r, consBuf,
                                  bufferIndex(sb, loc, consBuf, at, &layouts));
        },
        &used};
    if (failed(lowerEinsum(b, op, buf, buffers, {}, nullptr, nullptr, store)))
      return failure();
    if (!ok)
      return failure();
    if (!used)
      return lowerEinsum(b, cons, consBuf, buffers);
    // The kernel never touched op's buffer: drop its allocation.
    if (auto alloc = buf.getDefiningOp<memref::AllocOp>();
        alloc && alloc->use_empty()) {
      alloc->erase();
      llvm::erase(allocated, op.getResult());
    }
    return success();
  }

  /// A call of an outlined layer (cascade-outline-layers) becomes a call of
  /// the lowered layer on buffers: its arguments, then one buffer per result
  /// (the out-parameter when the model returns it, else a new allocation).
  void lowerCall(OpBuilder &b, func::CallOp call,
                 const llvm::DenseMap<Value, Value> &outputBuffer,
                 IRMapping &buffers, SmallVector<Value> &allocated,
                 const llvm::DenseMap<Value, Operation *> &lastUse) {
    b.setInsertionPoint(call);
    SmallVector<Value> args;
    for (Value in : call.getOperands())
      args.push_back(buffers.lookup(in));
    for (Value r : call.getResults())
      args.push_back(
          mapBuffer(b, r, call.getLoc(), outputBuffer, buffers, allocated));
    func::CallOp::create(b, call.getLoc(), call.getCallee(), TypeRange{}, args);
    for (Value in : call.getOperands())
      if (lastUse.lookup(in) == call.getOperation() &&
          llvm::is_contained(allocated, in))
        memref::DeallocOp::create(b, call.getLoc(), buffers.lookup(in));
  }

  /// The whole buffer of `op`'s result: its output parameter when it is
  /// returned, else a new allocation (recorded in `allocated`).
  Value mapBuffer(OpBuilder &b, EinsumOp op,
                  const llvm::DenseMap<Value, Value> &outputBuffer,
                  IRMapping &buffers, SmallVector<Value> &allocated) {
    return mapBuffer(b, op.getResult(), op.getLoc(), outputBuffer, buffers,
                     allocated);
  }
  /// The same for any tensor value (a layer call's result).
  Value mapBuffer(OpBuilder &b, Value result, Location loc,
                  const llvm::DenseMap<Value, Value> &outputBuffer,
                  IRMapping &buffers, SmallVector<Value> &allocated) {
    Value buf = outputBuffer.lookup(result);
    if (!buf) {
      buf = memref::AllocOp::create(b, loc, bufferType(result.getType()),
                                    b.getI64IntegerAttr(64));
      allocated.push_back(result);
    }
    buffers.map(result, buf);
    return buf;
  }

  /// The epilogue of `rowReduction`: combines the tile's rows in registers
  /// and each column vector into `red`'s buffer. Returns false (emitting
  /// nothing) unless the tile's rows are the reduced coordinate and its
  /// columns `red`'s last, contiguous one.
  bool emitRowReduction(OpBuilder &b, EinsumOp red, ArrayRef<unsigned> dims,
                        Value buf, const KernelTile &t) {
    unsigned numOut = red.getNumOutputDims();
    if (dims[t.m] != numOut || dims[t.n] != numOut - 1)
      return false;
    for (int64_t j = 0; j < t.cols; ++j) {
      Value v = t.vectors[j];
      for (int64_t i = 1; i < t.rows; ++i)
        v = BodyEmitter::combine(b, red.getLoc(), red, v,
                                 t.vectors[i * t.cols + j]);
      accumulateInto(b, red, dims, buf, t.at, v, j * t.lanes);
    }
    return true;
  }

  /// Combines `v` (a scalar, or a vector along `red`'s last index) into
  /// `red`'s element read by the producer's point `at`, its last coordinate
  /// moved by `offset`.
  void accumulateInto(OpBuilder &b, EinsumOp red, ArrayRef<unsigned> dims,
                      Value buf, ArrayRef<Value> at, Value v, int64_t offset) {
    Location loc = red.getLoc();
    unsigned numOut = red.getNumOutputDims();
    SmallVector<Value> idx(numOut);
    for (auto [r, d] : llvm::enumerate(dims))
      if (d < numOut)
        idx[d] = at[r];
    if (offset)
      idx[numOut - 1] =
          arith::AddIOp::create(b, loc, idx[numOut - 1],
                                arith::ConstantIndexOp::create(b, loc, offset));
    SmallVector<Value> pos = bufferIndex(b, loc, buf, idx, &layouts);
    Value acc =
        isa<VectorType>(v.getType())
            ? (Value)vector::LoadOp::create(b, loc, v.getType(), buf, pos)
            : (Value)memref::LoadOp::create(b, loc, buf, pos);
    Value sum = BodyEmitter::combine(b, loc, red, acc, v);
    if (isa<VectorType>(v.getType()))
      vector::StoreOp::create(b, loc, sum, buf, pos);
    else
      memref::StoreOp::create(b, loc, sum, buf, pos);
  }

  /// Lowers one einsum into `buf`, within the ranges enclosing fused loops
  /// give its ranks (`bounds`). Inside a fused recurrence group, index 0 is
  /// fixed to the group's step and the recurrence's init copy is left to
  /// the caller. An equation the schedule shapes follows its directives;
  /// the others get the default: a micro-kernel for contractions, else a
  /// nest in chooseLoopOrder's order.
  LogicalResult lowerEinsum(OpBuilder &b, EinsumOp op, Value buf,
                            IRMapping &buffers, const RankBounds &bounds = {},
                            const TileEpilogue &epilogue = nullptr,
                            const PointHook &afterStore = nullptr,
                            const TileStore &tileStore = {}) {
    Value step;
    bool otherBounds = false, kernelBounds = true;
    SmallVector<IndexRange> ranges(op.getNumLoops());
    for (unsigned d = 0; d < op.getNumLoops(); ++d) {
      auto it = bounds.find(LoopSchedule::rankOf(op, d));
      if (it == bounds.end())
        continue;
      const RankBound &rb = it->second;
      if (d == 0 && rb.fixed) {
        step = rb.fixed;
        continue;
      }
      otherBounds = true;
      if (rb.fixed)
        ranges[d] = {rb.fixed, 1};
      else if (rb.size)
        ranges[d] = {rb.lb, rb.size};
      else
        kernelBounds = false; // a remainder tile: no static extent
    }
    LoweringConfigAttr config = loweringConfig(op);
    Execution exec = config.getExecution();
    bool touched =
        exec == Execution::ScheduledNest || exec == Execution::TiledKernel;
    BufferRemap remap = [&](OpBuilder &nb, Value v, SmallVector<Value> idx) {
      return bufferIndex(nb, op.getLoc(), v, idx, &layouts);
    };
    // Contractions with a register-tiled kernel write every output element
    // themselves (no identity initialization needed).
    bool configError = false;
    auto tryKernel = [&](ArrayRef<Value> argBuffers) {
      if (exec != Execution::Kernel || !kernelBounds)
        return false;
      // Operands read at constant coordinates are given as views.
      ConstantIndexViews views(b, op, argBuffers, [&](Value buffer) {
        return !layouts.count(buffer);
      });
      KernelMachine machine{registers, l2Bytes, kUnroll};
      // The configuration's register tile and reduction block, checked
      // against the extents this kernel computes.
      if (config.getRegisterTile().size() == 3) {
        ArrayRef<int64_t> tile = config.getRegisterTile();
        KernelChoice want{config.getKernel(), tile[0], tile[1], tile[2],
                          config.getKc()};
        SmallVector<int64_t> ext(op.getExtents());
        for (auto [d, r] : llvm::enumerate(ranges))
          if (otherBounds && r.extent)
            ext[d] = r.extent;
        std::string why = whyKernelChoiceFails(views.einsum(), want, machine,
                                               ext, (bool)step, otherBounds);
        if (!why.empty()) {
          op.emitError() << "cascade-lower-to-loops: the configured "
                         << stringifyKernelForm(want.form) << " kernel "
                         << want.mr << "x" << want.nr << "x" << want.lanes
                         << " (kc " << want.kc << ") cannot compute '"
                         << op.getName() << "': " << why;
          configError = true;
          return false;
        }
        machine.mr = want.mr;
        machine.nr = want.nr;
        machine.kc = want.kc;
      }
      return succeeded(lowerContractionKernel(
          // An epilogue reduces across tiles: one thread.
          b, views.einsum(), buf, views.buffers(),
          config.getParallel() && !inParallel && !epilogue, machine, step,
          remap, otherBounds ? ArrayRef(ranges) : ArrayRef<IndexRange>(),
          epilogue, tileStore));
    };
    if (otherBounds || touched) {
      SmallVector<Value> argBuffers;
      for (Value in : op.getInputs())
        argBuffers.push_back(buffers.lookup(in));
      if (op.isRecurrence())
        argBuffers.push_back(buf);
      if (tryKernel(argBuffers))
        return success();
      if (configError)
        return failure();
      if (exec == Execution::TiledKernel && !otherBounds && !step &&
          succeeded(lowerTiledKernel(b, op, buf, argBuffers, remap)))
        return success();
      if (op.isRecurrence() && !step)
        emitInitCopy(b, op, buf, buffers, bounds);
      return lowerScheduled(b, op, buf, argBuffers, bounds, false, afterStore);
    }
    // `parallel` is the pass option (ODS): outer loops on the thread pool.
    Location loc = op.getLoc();
    ArrayRef<int64_t> extents = op.getExtents();
    std::optional<int64_t> iter = op.getIterative();
    auto shape = cast<RankedTensorType>(op.getResult().getType()).getShape();
    const LayoutMap *lm = &layouts;
    SmallVector<Value> argBuffers;
    for (Value in : op.getInputs())
      argBuffers.push_back(buffers.lookup(in));
    if (iter)
      argBuffers.push_back(buf);

    if (tryKernel(argBuffers))
      return success();
    if (configError)
      return failure();
    if (exec == Execution::TransposeKernel &&
        succeeded(lowerTransposeKernel(b, op, buf, argBuffers,
                                       config.getParallel() && !inParallel,
                                       registers >= 32 ? 16 : 8, remap)))
      return success();

    // Loops over every index but the fixed one.
    auto withoutStep = [&](ArrayRef<unsigned> order) {
      SmallVector<unsigned> out;
      for (unsigned d : order)
        if (!step || d != 0)
          out.push_back(d);
      return out;
    };

    // Recurrence: position 0 of the iterative index is the init tensor.
    if (iter && !step)
      emitInitCopy(b, op, buf, buffers);
    // Reductions accumulate in place: start from the identity.
    if (op.hasReduction()) {
      double id = BodyEmitter::identity(op.getReduction());
      SmallVector<int64_t> lbs(shape.size(), 0);
      if (iter)
        lbs[*iter] = 1;
      Value fixed;
      if (step)
        fixed =
            iter && *iter == 0
                ? (Value)arith::AddIOp::create(
                      b, loc, step, arith::ConstantIndexOp::create(b, loc, 1))
                : step;
      buildNest(
          b, loc, shape, withoutStep(identityOrder(shape.size())),
          [&](OpBuilder &nb, ArrayRef<Value> ivs) {
            Value c = arith::ConstantOp::create(nb, loc,
                                                nb.getF32FloatAttr((float)id));
            storeAt(nb, loc, c, buf, ivs, lm);
          },
          lbs, false, fixed);
    }
    bool ok = true;
    SmallVector<unsigned> order = withoutStep(chooseLoopOrder(op));
    if (!order.empty() && op.isReducedDim(order.back())) {
      // Innermost reduction: accumulate in a register (iter_args) with a
      // reassociable combine, so the loop vectorizes; store once.
      unsigned d = order.back();
      SmallVector<unsigned> outer(order.begin(), order.end() - 1);
      buildNest(
          b, loc, extents, outer,
          [&](OpBuilder &nb, ArrayRef<Value> outerIvs) {
            SmallVector<Value> idx = outputIndex(nb, op, outerIvs);
            Value init = loadAt(nb, loc, buf, idx, lm);
            auto zero = arith::ConstantIndexOp::create(nb, loc, 0);
            auto ub = arith::ConstantIndexOp::create(nb, loc, extents[d]);
            auto one = arith::ConstantIndexOp::create(nb, loc, 1);
            auto loop = scf::ForOp::create(
                nb, loc, zero, ub, one, ValueRange{init},
                [&](OpBuilder &ib, Location, Value iv, ValueRange acc) {
                  SmallVector<Value> ivs(outerIvs);
                  ivs[d] = iv;
                  BodyEmitter emitter(ib, op, ivs, argBuffers, lm);
                  Value v = emitter.emitRegion(op.getBody());
                  if (!v) {
                    ok = false;
                    v = acc[0];
                  } else {
                    v = BodyEmitter::combine(ib, loc, op, acc[0], v,
                                             /*reassoc=*/true);
                  }
                  scf::YieldOp::create(ib, loc, v);
                });
            storeAt(nb, loc, loop.getResult(0), buf, idx, lm);
          },
          {}, config.getParallel() && !inParallel, step);
      return success(ok);
    }
    buildNest(
        b, loc, extents, order,
        [&](OpBuilder &nb, ArrayRef<Value> ivs) {
          BodyEmitter emitter(nb, op, ivs, argBuffers, lm);
          Value v = emitter.emitRegion(op.getBody());
          if (!v) {
            ok = false;
            return;
          }
          SmallVector<Value> idx = outputIndex(nb, op, ivs);
          if (op.hasReduction()) {
            Value acc = loadAt(nb, loc, buf, idx, lm);
            v = BodyEmitter::combine(nb, loc, op, acc, v);
          }
          storeAt(nb, loc, v, buf, idx, lm);
        },
        {}, config.getParallel() && !inParallel, step);
    return success(ok);
  }

  /// A contraction the schedule tiles, as the schedule's tile loops around
  /// its micro-kernel (TiledKernel.h). Fails, emitting nothing, where the
  /// schedule shapes loops inside the tile or no kernel applies; the
  /// caller then builds the scheduled nest.
  LogicalResult lowerTiledKernel(OpBuilder &b, EinsumOp op, Value buf,
                                 ArrayRef<Value> argBuffers,
                                 const BufferRemap &remap) {
    unsigned numLoops = op.getNumLoops();
    SmallVector<Value> fixed(numLoops);
    SmallVector<const RankBound *> bound(numLoops, nullptr);
    SmallVector<LoopLevel> levels = scheduledLevels(
        op, sched, chooseLoopOrder(op), fixed, bound, false, inParallel);
    std::string whyNot;
    FailureOr<KernelTiling> tiling = tileAroundKernel(op, levels, whyNot);
    if (failed(tiling))
      return failure();
    return emitTiledKernel(
        b, op.getLoc(), op, *tiling,
        [&](OpBuilder &kb, ArrayRef<IndexRange> ranges, bool par) {
          ConstantIndexViews views(kb, op, argBuffers, [&](Value buffer) {
            return !layouts.count(buffer);
          });
          return lowerContractionKernel(
              kb, views.einsum(), buf, views.buffers(), par,
              KernelMachine{registers, l2Bytes, kUnroll}, Value(), remap,
              ranges);
        });
  }

  /// Emits a recurrence group as one loop over its first index.
  /// Within a user's fused group (`nested`), inside its shared loops, the
  /// group's buffers live for one iteration of them, and what the group
  /// reads from outside stays for the enclosing group to free.
  LogicalResult lowerGroup(OpBuilder &b, ArrayRef<EinsumOp> members,
                           IRMapping &buffers, SmallVector<Value> &allocated,
                           llvm::DenseMap<Value, Operation *> &lastUse,
                           const RankBounds &bounds, bool nested) {
    Location loc = EinsumOp(members.back()).getLoc();
    for (EinsumOp m : members) {
      auto shape = cast<RankedTensorType>(m.getResult().getType()).getShape();
      SmallVector<int64_t> slice(shape.begin(), shape.end());
      Layout layout;
      if (m.isRecurrence()) {
        // In place (one position) when every element's step reads only its
        // own previous value and the other members read only the new one;
        // else the previous and the current position.
        bool inPlace =
            readsOnlyOwnPrevious(m) &&
            llvm::all_of(members, [&](EinsumOp other) {
              return other == m || readsOnlyCurrent(other, m.getResult());
            });
        slice[0] = inPlace ? 1 : 2;
        (inPlace ? layout.singleFirst : layout.rollingFirst) = true;
      } else {
        slice.erase(slice.begin());
        layout.dropFirst = true;
      }
      // Within shared loops: only the part they select.
      layout.offsets.assign(slice.size(), Value());
      for (unsigned d = 1; d < shape.size(); ++d) {
        auto it = bounds.find(LoopSchedule::rankOf(m, d));
        if (it == bounds.end())
          continue;
        unsigned k = layout.dropFirst ? d - 1 : d;
        if (it->second.fixed) {
          slice[k] = 1;
          layout.offsets[k] = it->second.fixed;
        } else if (it->second.size) {
          slice[k] = it->second.size;
          layout.offsets[k] = it->second.lb;
        }
      }
      Value buf = memref::AllocOp::create(
          b, loc, MemRefType::get(slice, b.getF32Type()),
          b.getI64IntegerAttr(64));
      layouts[buf] = layout;
      buffers.map(m.getResult(), buf);
      if (!nested) // nested: freed at the end of this group
        allocated.push_back(m.getResult());
    }
    for (EinsumOp m : members)
      if (m.isRecurrence())
        emitInitCopy(b, m, buffers.lookup(m.getResult()), buffers, bounds);
    bool ok = true;
    int64_t extent = EinsumOp(members.front()).getExtents()[0];
    // The loop exists before its body is built, so that kernels inside can
    // place work before it (copies of tiles that every step reads).
    auto loop =
        scf::ForOp::create(b, loc, arith::ConstantIndexOp::create(b, loc, 0),
                           arith::ConstantIndexOp::create(b, loc, extent),
                           arith::ConstantIndexOp::create(b, loc, 1));
    {
      OpBuilder fb = OpBuilder::atBlockTerminator(loop.getBody());
      RankBounds inner = bounds;
      inner[LoopSchedule::rankOf(members.front(), 0)] = {
          loop.getInductionVar(), {}, {}};
      // A step whose scores are all masked changes no recurrence: run it
      // only when one is visible; else a recurrence kept in two positions
      // carries its value to the next one.
      if (auto scores = llvm::find_if(members, skipsMaskedSteps);
          scores != members.end())
        if (Value visible = stepHasVisibleScore(fb, loc, *scores, inner)) {
          auto skip = scf::IfOp::create(fb, loc, visible, /*withElse=*/true);
          OpBuilder eb = skip.getElseBodyBuilder();
          for (EinsumOp m : members)
            if (m.isRecurrence() &&
                layouts.lookup(buffers.lookup(m.getResult())).rollingFirst)
              carryPosition(eb, loc, buffers.lookup(m.getResult()),
                            loop.getInductionVar());
          fb = skip.getThenBodyBuilder();
        }
      for (unsigned i = 0; i < members.size(); ++i) {
        EinsumOp m = members[i];
        // A reduction of the previous member's kernel tile over its rows
        // (the 1-pass cascade's local max) is done in the kernel's
        // epilogue, from registers, instead of as a pass over the tile.
        if (i + 1 < members.size() && epilogueConsumer(m) == members[i + 1])
          if (auto rows = rowReduction(m, members[i + 1])) {
            EinsumOp red = members[i + 1];
            Value redBuf = buffers.lookup(red.getResult());
            SmallVector<Value> args{buffers.lookup(m.getResult())};
            ok &= succeeded(lowerScheduled(fb, red, redBuf, args, inner,
                                           /*initOnly=*/true));
            bool fused = false;
            TileEpilogue epilogue = [&](OpBuilder &eb, const KernelTile &t) {
              fused |= emitRowReduction(eb, red, *rows, redBuf, t);
            };
            // A producer lowered as a loop nest (the exponentials AV_SLN of
            // the sum AV_SLD) adds each value it stores.
            PointHook afterStore = [&](OpBuilder &eb, ArrayRef<Value> at,
                                       Value v) {
              accumulateInto(eb, red, *rows, redBuf, at, v, 0);
              fused = true;
            };
            ok &= succeeded(lowerEinsum(fb, m, buffers.lookup(m.getResult()),
                                        buffers, inner, epilogue, afterStore));
            if (!fused)
              ok &= succeeded(lowerEinsum(fb, red, redBuf, buffers, inner));
            ++i;
            continue;
          }
        ok &= succeeded(
            lowerEinsum(fb, m, buffers.lookup(m.getResult()), buffers, inner));
      }
    }
    if (nested) {
      // Later equations of the enclosing group read the final values.
      for (EinsumOp m : members)
        nestedBuffers.push_back(buffers.lookup(m.getResult()));
      return success(ok);
    }
    freeGroupBuffers(b, loc, members, buffers, allocated, lastUse);
    return success(ok);
  }

  /// The `i`-th of `n` tiles in the order 0, n-1, 1, n-2, ...
  static Value zigzag(OpBuilder &b, Location loc, Value i, Value n) {
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value two = arith::ConstantIndexOp::create(b, loc, 2);
    Value half = arith::DivUIOp::create(b, loc, i, two);
    Value odd =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                              arith::RemUIOp::create(b, loc, i, two),
                              arith::ConstantIndexOp::create(b, loc, 0));
    Value fromEnd = arith::SubIOp::create(
        b, loc, arith::SubIOp::create(b, loc, n, one), half);
    return arith::SelectOp::create(b, loc, odd, fromEnd, half);
  }

  /// Copies position `step` % 2 of a recurrence's two-position buffer to
  /// position (`step` + 1) % 2: the value after a skipped step.
  static void carryPosition(OpBuilder &b, Location loc, Value buf, Value step) {
    auto type = cast<MemRefType>(buf.getType());
    Value two = arith::ConstantIndexOp::create(b, loc, 2);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value from = arith::RemUIOp::create(b, loc, step, two);
    Value to = arith::RemUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, step, one), two);
    SmallVector<Value> lbs, ubs, steps;
    for (int64_t e : type.getShape().drop_front()) {
      lbs.push_back(arith::ConstantIndexOp::create(b, loc, 0));
      ubs.push_back(arith::ConstantIndexOp::create(b, loc, e));
      steps.push_back(one);
    }
    scf::buildLoopNest(b, loc, lbs, ubs, steps,
                       [&](OpBuilder &nb, Location, ValueRange ivs) {
                         SmallVector<Value> src{from}, dst{to};
                         src.append(ivs.begin(), ivs.end());
                         dst.append(ivs.begin(), ivs.end());
                         Value v = memref::LoadOp::create(nb, loc, buf, src);
                         memref::StoreOp::create(nb, loc, v, buf, dst);
                       });
  }

  /// After a fused group: frees the allocated buffers whose last reader is
  /// in the group, and the group's own results that nothing reads.
  static void freeGroupBuffers(OpBuilder &b, Location loc,
                               ArrayRef<EinsumOp> members, IRMapping &buffers,
                               ArrayRef<Value> allocated,
                               llvm::DenseMap<Value, Operation *> &lastUse) {
    llvm::DenseSet<Value> freed;
    auto free = [&](Value v) {
      if (llvm::is_contained(allocated, v) && buffers.lookup(v) &&
          freed.insert(v).second)
        memref::DeallocOp::create(b, loc, buffers.lookup(v));
    };
    for (EinsumOp m : members)
      for (Value in : m->getOperands())
        if (llvm::is_contained(members, lastUse.lookup(in)))
          free(in);
    for (EinsumOp m : members)
      if (!lastUse.count(m.getResult()))
        free(m.getResult());
  }

  /// Copies a recurrence's init tensor into position 0 of its buffer.
  void emitInitCopy(OpBuilder &b, EinsumOp op, Value buf, IRMapping &buffers,
                    const RankBounds &bounds = {}) {
    Location loc = op.getLoc();
    int64_t iter = *op.getIterative();
    auto shape = cast<RankedTensorType>(op.getResult().getType()).getShape();
    std::optional<double> folded = constantInit(op);
    Value init = folded ? Value() : buffers.lookup(op.getInit());
    // One loop per dimension but the iterative one, within the bounds of
    // enclosing fused loops.
    SmallVector<LoopLevel> levels;
    SmallVector<Value> fixed(shape.size() - 1);
    for (unsigned d = 0, k = 0; d < shape.size(); ++d) {
      if ((int64_t)d == iter)
        continue;
      auto it = bounds.find(LoopSchedule::rankOf(op, d));
      if (it != bounds.end() && it->second.fixed) {
        fixed[k++] = it->second.fixed;
        continue;
      }
      LoopLevel l;
      l.dim = k++;
      l.extent = shape[d];
      if (it != bounds.end()) {
        l.lb = it->second.lb;
        l.ub = it->second.ub;
      }
      levels.push_back(l);
    }
    buildLoopNest(b, loc, levels, fixed,
                  [&](OpBuilder &nb, ArrayRef<Value> ivs) {
                    SmallVector<Value> dst(ivs);
                    dst.insert(dst.begin() + iter,
                               arith::ConstantIndexOp::create(nb, loc, 0));
                    Value v = folded ? (Value)arith::ConstantOp::create(
                                           nb, loc, nb.getF32FloatAttr(*folded))
                                     : loadAt(nb, loc, init, ivs, &layouts);
                    storeAt(nb, loc, v, buf, dst, &layouts);
                  });
  }

  /// A constant init equation stored by its recurrence's init copy.
  static bool foldedInit(EinsumOp op) {
    return loweringConfig(op).getExecution() == Execution::InitFolded;
  }

  /// The elementwise equation the strategy computes in `op`'s stores.
  static EinsumOp epilogueConsumer(EinsumOp op) {
    StringRef name = loweringConfig(op).getEpilogue();
    if (name.empty())
      return {};
    for (Operation *user : op.getResult().getUsers())
      if (auto cons = dyn_cast<EinsumOp>(user); cons && cons.getName() == name)
        return cons;
    return {};
  }

  SmallVector<EinsumOp> *groupOf(EinsumOp op) {
    for (auto &g : groups)
      if (llvm::is_contained(g, op))
        return &g;
    return nullptr;
  }

  FusedGroup *fusedGroupOf(EinsumOp op) {
    for (FusedGroup &g : fused)
      if (llvm::is_contained(g.ops, op))
        return &g;
    return nullptr;
  }

  /// The groups the configurations name: recurrence groups (`steps`) and
  /// fused groups (`fused`, with their `shared` loops), in block order.
  LogicalResult collectGroups(func::FuncOp f, ArrayRef<EinsumOp> einsums) {
    llvm::MapVector<StringRef, SmallVector<EinsumOp>> steps, fusedOps;
    for (EinsumOp op : einsums) {
      LoweringConfigAttr c = loweringConfig(op);
      if (!c)
        return op.emitError("cascade-lower-to-loops: no #cascade.lowering "
                            "configuration on this equation");
      if (!c.getSteps().empty())
        steps[c.getSteps()].push_back(op);
      if (!c.getFused().empty())
        fusedOps[c.getFused()].push_back(op);
    }
    groups.clear();
    fused.clear();
    storeFused.clear();
    for (auto &entry : steps)
      groups.push_back(entry.second);
    for (auto &[name, ops] : fusedOps) {
      FusedGroup g{ops, {}, EinsumOp(ops.back()).getLoc()};
      if (auto it = sched.fuseLocs.find(name); it != sched.fuseLocs.end())
        g.loc = it->second;
      ArrayAttr shared = loweringConfig(ops.back()).getShared();
      for (StringRef text : shared ? shared.getAsValueRange<StringAttr>()
                                   : ArrayAttr().getAsValueRange<StringAttr>())
        if (std::optional<SharedLoop> loop = parseSharedLoop(text, ops))
          g.shared.push_back(*loop);
        else
          return EinsumOp(ops.back()).emitError()
                 << "cascade-lower-to-loops: group '" << name
                 << "' has a shared loop '" << text
                 << "' over no rank of its equations";
      if (g.shared.empty())
        return EinsumOp(ops.back()).emitError()
               << "cascade-lower-to-loops: group '" << name
               << "' has no shared loops";
      fused.push_back(std::move(g));
    }
    return success();
  }

  /// Lowers `op` as its schedule says, within `bounds`.
  /// With `initOnly`, emits only a reduction's start from the identity.
  LogicalResult lowerScheduled(OpBuilder &b, EinsumOp op, Value buf,
                               ArrayRef<Value> argBuffers,
                               const RankBounds &bounds, bool initOnly = false,
                               const PointHook &afterStore = nullptr) {
    using Part = LoopSchedule::Part;
    Location loc = op.getLoc();
    unsigned numOut = op.getNumOutputDims(), numLoops = op.getNumLoops();
    std::optional<int64_t> iter = op.getIterative();
    auto shape = cast<RankedTensorType>(op.getResult().getType()).getShape();
    const LayoutMap *lm = &layouts;
    SmallVector<Value> fixed(numLoops);
    SmallVector<const RankBound *> bound(numLoops, nullptr);
    for (unsigned d = 0; d < numLoops; ++d) {
      auto it = bounds.find(LoopSchedule::rankOf(op, d));
      if (it == bounds.end())
        continue;
      bound[d] = &it->second;
      fixed[d] = it->second.fixed;
    }
    // A recurrence that reads other positions of itself than its own
    // previous one needs its iterative loop outside all others.
    bool crossReads = iter && !readsOnlyOwnPrevious(op);

    SmallVector<LoopLevel> levels = scheduledLevels(
        op, sched, chooseLoopOrder(op), fixed, bound, crossReads, inParallel);

    // Reductions start from the identity, over this nest's part of the
    // output (position 0 of a recurrence is its init).
    if (op.hasReduction()) {
      SmallVector<LoopLevel> initLevels;
      SmallVector<Value> initFixed(numOut);
      for (unsigned d = 0; d < numOut; ++d) {
        bool isIter = iter && (int64_t)d == *iter;
        if (fixed[d]) {
          initFixed[d] = isIter ? (Value)arith::AddIOp::create(
                                      b, loc, fixed[d],
                                      arith::ConstantIndexOp::create(b, loc, 1))
                                : fixed[d];
          continue;
        }
        LoopLevel l;
        l.dim = d;
        l.extent = shape[d];
        l.lowerBound = isIter ? 1 : 0;
        if (bound[d]) {
          l.lb = bound[d]->lb;
          l.ub = bound[d]->ub;
        }
        initLevels.push_back(l);
      }
      double id = BodyEmitter::identity(op.getReduction());
      buildLoopNest(b, loc, initLevels, initFixed,
                    [&](OpBuilder &nb, ArrayRef<Value> ivs) {
                      Value c = arith::ConstantOp::create(
                          nb, loc, nb.getF32FloatAttr((float)id));
                      storeAt(nb, loc, c, buf, ivs.take_front(numOut), lm);
                    });
    }
    if (initOnly)
      return success();

    bool ok = true;
    auto point = [&](OpBuilder &nb, ArrayRef<Value> ivs) -> Value {
      BodyEmitter emitter(nb, op, ivs, argBuffers, lm);
      Value v = emitter.emitRegion(op.getBody());
      ok &= (bool)v;
      return v;
    };
    // An innermost reduced loop accumulates in a register (reassociable, so
    // it vectorizes) and stores once.
    if (!levels.empty() && op.isReducedDim(levels.back().dim) &&
        levels.back().part != Part::Outer) {
      Accumulation acc;
      acc.init = [&](OpBuilder &nb, ArrayRef<Value> ivs) {
        return loadAt(nb, loc, buf, outputIndex(nb, op, ivs), lm);
      };
      acc.step = [&](OpBuilder &nb, ArrayRef<Value> ivs, Value sum) -> Value {
        Value v = point(nb, ivs);
        return v ? BodyEmitter::combine(nb, loc, op, sum, v,
                                        /*reassoc=*/true)
                 : sum;
      };
      acc.done = [&](OpBuilder &nb, ArrayRef<Value> ivs, Value sum) {
        storeAt(nb, loc, sum, buf, outputIndex(nb, op, ivs), lm);
      };
      buildLoopNest(b, loc, levels, fixed, nullptr, &acc);
      return success(ok);
    }
    buildLoopNest(b, loc, levels, fixed,
                  [&](OpBuilder &nb, ArrayRef<Value> ivs) {
                    Value v = point(nb, ivs);
                    if (!v)
                      return;
                    SmallVector<Value> idx = outputIndex(nb, op, ivs);
                    if (op.hasReduction())
                      v = BodyEmitter::combine(
                          nb, loc, op, loadAt(nb, loc, buf, idx, lm), v);
                    storeAt(nb, loc, v, buf, idx, lm);
                    if (afterStore && !op.hasReduction() && !iter)
                      afterStore(nb, idx, v);
                  });
    return success(ok);
  }

  /// Emits `group` inside `shared` loops (outermost first): each equation
  /// (or recurrence group) of it in turn, on the part of its output that
  /// the shared loops select. Leading parallel loops form one scf.parallel.
  LogicalResult lowerSharedLoops(OpBuilder &b, Location loc,
                                 ArrayRef<EinsumOp> group,
                                 ArrayRef<SharedLoop> shared,
                                 llvm::DenseMap<Value, Value> &outputBuffer,
                                 IRMapping &buffers,
                                 SmallVector<Value> &allocated,
                                 llvm::DenseMap<Value, Operation *> &lastUse) {
    using Part = LoopSchedule::Part;
    // Whole buffers for the group's equations (recurrence groups inside it
    // allocate their own, per iteration of the shared loops).
    for (EinsumOp m : group)
      if (!foldedInit(m) && !groupOf(m))
        mapBuffer(b, m, outputBuffer, buffers, allocated);

    bool ok = true;
    RankBounds bounds;
    bool wasInParallel = inParallel;
    std::function<void(OpBuilder &, unsigned)> level = [&](OpBuilder &nb,
                                                           unsigned depth) {
      if (depth == shared.size()) {
        for (EinsumOp m : group) {
          if (foldedInit(m))
            continue;
          if (SmallVector<EinsumOp> *rec = groupOf(m)) {
            if (m == rec->back())
              ok &= succeeded(lowerGroup(nb, *rec, buffers, allocated, lastUse,
                                         bounds, /*nested=*/true));
            continue;
          }
          ok &= succeeded(lowerEinsum(nb, m, buffers.lookup(m.getResult()),
                                      buffers, bounds));
        }
        for (Value buf : nestedBuffers)
          memref::DeallocOp::create(nb, loc, buf);
        nestedBuffers.clear();
        return;
      }
      // An inner part runs over the tile its outer part bound.
      auto levelOf = [&](const SharedLoop &s) {
        LoopLevel l;
        l.part = s.part;
        l.extent = s.extent;
        l.tile = s.tile;
        if (s.part == Part::Inner) {
          l.part = Part::Whole;
          l.lb = bounds[s.rank].lb;
          l.ub = bounds[s.rank].ub;
        }
        return l;
      };
      auto bind = [&](OpBuilder &ib, const SharedLoop &s, Value iv) {
        if (s.part != Part::Outer) {
          bounds[s.rank] = {iv, {}, {}};
          return;
        }
        LoopLevel tile = levelOf(s);
        tile.part = Part::Inner;
        auto [tlb, tub] = levelBounds(ib, loc, tile, iv);
        bounds[s.rank] = {{}, tlb, tub, s.extent % s.tile == 0 ? s.tile : 0};
      };
      // Consecutive parallel loops (none an inner part, whose bounds come
      // from an enclosing one) become one multi-dimensional scf.parallel.
      unsigned end = depth;
      if (!inParallel)
        while (end < shared.size() && shared[end].parallel &&
               (end == depth || shared[end].part != Part::Inner))
          ++end;
      if (end > depth) {
        SmallVector<Value> lbs, ubs, steps;
        for (unsigned i = depth; i < end; ++i) {
          auto [lb, ub] = levelBounds(nb, loc, levelOf(shared[i]), {});
          lbs.push_back(lb);
          ubs.push_back(ub);
          steps.push_back(arith::ConstantIndexOp::create(nb, loc, 1));
        }
        inParallel = true;
        // Tiles whose masked steps are skipped differ in cost (causal
        // attention: the last query tile runs every key step, the first
        // one): visiting them first, last, second, second to last, ...
        // gives each thread's contiguous share of the loop as much work.
        bool skips = llvm::any_of(group, skipsMaskedSteps);
        scf::ParallelOp::create(nb, loc, lbs, ubs, steps,
                                [&](OpBuilder &pb, Location, ValueRange ivs) {
                                  for (unsigned i = depth; i < end; ++i) {
                                    Value iv = ivs[i - depth];
                                    if (skips && shared[i].part == Part::Outer)
                                      iv = zigzag(pb, loc, iv, ubs[i - depth]);
                                    bind(pb, shared[i], iv);
                                  }
                                  level(pb, end);
                                  scf::ReduceOp::create(pb, loc);
                                });
        return;
      }
      const SharedLoop &s = shared[depth];
      auto [lb, ub] = levelBounds(nb, loc, levelOf(s), {});
      Value one = arith::ConstantIndexOp::create(nb, loc, 1);
      scf::ForOp::create(nb, loc, lb, ub, one, ValueRange{},
                         [&](OpBuilder &fb, Location, Value iv, ValueRange) {
                           bind(fb, s, iv);
                           level(fb, depth + 1);
                           scf::YieldOp::create(fb, loc);
                         });
    };
    level(b, 0);
    inParallel = wasInParallel;

    // Recurrence groups inside freed their own buffers (not in
    // `allocated`); folded inits have none.
    freeGroupBuffers(b, loc, group, buffers, allocated, lastUse);
    return success(ok);
  }

  LoopSchedule sched;
  bool inParallel = false; // inside a shared scf.parallel: no nested ones
  // Buffers of recurrence groups inside a user's group: freed at the end of
  // one iteration of its shared loops.
  SmallVector<Value> nestedBuffers;
  SmallVector<SmallVector<EinsumOp>> groups; // recurrence groups
  SmallVector<FusedGroup> fused;
  /// Elementwise equations computed in their producer's kernel stores.
  llvm::DenseSet<Operation *> storeFused;

  LayoutMap layouts;
};

} // namespace
