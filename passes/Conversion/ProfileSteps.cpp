//===- ProfileSteps.cpp - Timing each step of the lowered model -----------===//
//
// cascade-profile-steps brackets each step that cascade-lower-to-loops
// tagged (ProfileSteps.h) with two readings of the monotonic clock and adds
// the difference, and one call, to the step's pair of counters in a module
// global, `__cascade_profile` (i64 nanoseconds, i64 calls per step). Code
// generation exports that global as `cascade_profile`; the manifest lists
// the steps in the same order (module attribute `cascade.profile_steps`),
// and the runtime reads both (`cascade_model_profile_format`). Steps are
// top-level ops, outside the parallel loops, so two clock reads per step
// and run are all it costs. The clock is libc's clock_gettime, present on
// every target that links against libc.
//
//===----------------------------------------------------------------------===//
#include "passes/Conversion/ProfileSteps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "passes/Analysis/CascadeAnalysis.h"
#include "passes/Passes.h"
#include "llvm/ADT/MapVector.h"
#include <functional>

namespace cascade {
#define GEN_PASS_DEF_CASCADEPROFILESTEPS
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;
using namespace cascade;

//===----------------------------------------------------------------------===//
// StepRecorder
//===----------------------------------------------------------------------===//

StepRecorder::StepRecorder(func::FuncOp f) : func(f) {
  for (EinsumOp op : f.getOps<EinsumOp>())
    flops[op.getName()] = equationCost(op).flops;
}

unsigned StepRecorder::claim(Operation *end, int64_t step) {
  Builder b(func.getContext());
  unsigned count = 0;
  // Lowered ops are inserted before the equation that triggers them, so
  // the unclaimed ops right before `end` are the step's; the equations
  // still in the block (erased when the function is done) are skipped.
  for (Operation *o = end->getPrevNode(); o && !o->hasAttr(kStepAttr);
       o = o->getPrevNode()) {
    if (isa<EinsumOp>(o) || o->hasTrait<OpTrait::ConstantLike>())
      continue;
    o->setAttr(kStepAttr, b.getI64IntegerAttr(step));
    ++count;
  }
  return count;
}

void StepRecorder::record(Operation *end, ArrayRef<EinsumOp> equations) {
  if (!claim(end, steps.size()))
    return;
  Builder b(func.getContext());
  SmallVector<Attribute> names;
  int64_t total = 0;
  for (EinsumOp op : equations) {
    names.push_back(b.getStringAttr(op.getName()));
    total += flops.lookup(op.getName());
  }
  steps.push_back(b.getDictionaryAttr(
      {b.getNamedAttr("name", names.back()),
       b.getNamedAttr("equations", b.getArrayAttr(names)),
       b.getNamedAttr("flops", b.getI64IntegerAttr(total))}));
}

void StepRecorder::recordUntimed(Operation *end) { claim(end, -1); }

void StepRecorder::finish() {
  func->setAttr(kStepsAttr, Builder(func.getContext()).getArrayAttr(steps));
}

//===----------------------------------------------------------------------===//
// cascade-profile-steps
//===----------------------------------------------------------------------===//

namespace {

constexpr llvm::StringLiteral kNow = "__cascade_profile_now";

/// `i64 __cascade_profile_now()`: CLOCK_MONOTONIC in nanoseconds.
LLVM::LLVMFuncOp buildClock(OpBuilder &b, Location loc) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto gettime = LLVM::LLVMFuncOp::create(
      b, loc, "clock_gettime", LLVM::LLVMFunctionType::get(i32, {i32, ptr}));
  auto now = LLVM::LLVMFuncOp::create(b, loc, kNow,
                                      LLVM::LLVMFunctionType::get(i64, {}),
                                      LLVM::Linkage::Internal);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(now.addEntryBlock(b));
  // struct timespec on the 64-bit Linux targets: two i64 (s, ns).
  auto timespec = LLVM::LLVMArrayType::get(i64, 2);
  Value one = LLVM::ConstantOp::create(b, loc, i64, 1);
  Value ts = LLVM::AllocaOp::create(b, loc, ptr, timespec, one);
  Value monotonic = LLVM::ConstantOp::create(b, loc, i32, 1);
  LLVM::CallOp::create(b, loc, gettime, ValueRange{monotonic, ts});
  Value s = LLVM::LoadOp::create(b, loc, i64, ts);
  Value nsAt =
      LLVM::GEPOp::create(b, loc, ptr, i64, ts, ArrayRef<LLVM::GEPArg>{1});
  Value ns = LLVM::LoadOp::create(b, loc, i64, nsAt);
  Value giga = LLVM::ConstantOp::create(b, loc, i64, 1000000000);
  Value t =
      LLVM::AddOp::create(b, loc, LLVM::MulOp::create(b, loc, s, giga), ns);
  LLVM::ReturnOp::create(b, loc, t);
  return now;
}

struct ProfileSteps
    : public cascade::impl::CascadeProfileStepsBase<ProfileSteps> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    // Steps of every lowered function, numbered across the module in the
    // order they first run: an outlined layer's at its first call.
    SmallVector<Attribute> all;
    // Each function's step numbers in `all`.
    llvm::MapVector<Operation *, llvm::DenseMap<int64_t, int64_t>> funcs;
    SymbolTable symbols(module);
    std::function<void(func::FuncOp)> visit = [&](func::FuncOp f) {
      auto steps = f->getAttrOfType<ArrayAttr>(kStepsAttr);
      if (!steps || funcs.count(f))
        return;
      funcs[f];
      // A layer's steps are named with its def, the model's with its
      // function (the manifest's "function").
      auto layer = f->getAttrOfType<StringAttr>(kLayerAttr);
      for (Operation &o : f.getBody().front()) {
        if (auto call = dyn_cast<func::CallOp>(o))
          if (auto callee = symbols.lookup<func::FuncOp>(call.getCallee()))
            visit(callee);
        auto step = o.getAttrOfType<IntegerAttr>(kStepAttr);
        if (!step || step.getInt() < 0 || funcs[f].count(step.getInt()))
          continue;
        funcs[f][step.getInt()] = all.size();
        NamedAttrList entry(cast<DictionaryAttr>(steps[step.getInt()]));
        entry.set("function", layer ? layer : b.getStringAttr(f.getSymName()));
        all.push_back(entry.getDictionary(ctx));
      }
    };
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr(attrs::kModel))
        visit(f);
    for (auto f : module.getOps<func::FuncOp>())
      visit(f);
    if (all.empty()) {
      stripTags(module);
      return;
    }
    Location loc = module.getLoc();
    Type i64 = b.getI64Type();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    b.setInsertionPointToStart(module.getBody());
    auto countersType = LLVM::LLVMArrayType::get(i64, 2 * all.size());
    auto counters = LLVM::GlobalOp::create(
        b, loc, countersType, /*isConstant=*/false, LLVM::Linkage::Internal,
        kProfileCounters,
        b.getZeroAttr(RankedTensorType::get({(int64_t)(2 * all.size())}, i64)));
    LLVM::LLVMFuncOp now = buildClock(b, loc);

    for (auto &[fn, numbers] : funcs) {
      auto f = cast<func::FuncOp>(fn);
      // The first and last op of each step, in block order.
      llvm::MapVector<int64_t, std::pair<Operation *, Operation *>> spans;
      for (Operation &o : f.getBody().front()) {
        auto step = o.getAttrOfType<IntegerAttr>(kStepAttr);
        if (!step || step.getInt() < 0)
          continue;
        auto [it, fresh] = spans.insert({step.getInt(), {&o, &o}});
        if (!fresh)
          it->second.second = &o;
      }
      for (auto &[step, span] : spans) {
        Location at = span.first->getLoc();
        b.setInsertionPoint(span.first);
        Value t0 = LLVM::CallOp::create(b, at, now, ValueRange{}).getResult();
        b.setInsertionPointAfter(span.second);
        Value t1 = LLVM::CallOp::create(b, at, now, ValueRange{}).getResult();
        Value base = LLVM::AddressOfOp::create(b, at, counters);
        auto add = [&](int64_t slot, Value v) {
          Value p = LLVM::GEPOp::create(b, at, ptr, i64, base,
                                        ArrayRef<LLVM::GEPArg>{slot});
          // Atomic: two threads may run one model at once.
          LLVM::AtomicRMWOp::create(b, at, LLVM::AtomicBinOp::add, p, v,
                                    LLVM::AtomicOrdering::monotonic);
        };
        int64_t slot = 2 * numbers.lookup(step);
        add(slot, LLVM::SubOp::create(b, at, t1, t0));
        add(slot + 1, LLVM::ConstantOp::create(b, at, i64, 1));
      }
    }
    stripTags(module);
    module->setAttr(kProfileStepsAttr, b.getArrayAttr(all));
  }

  static void stripTags(ModuleOp module) {
    module.walk([](Operation *o) {
      o->removeAttr(kStepAttr);
      o->removeAttr(kStepsAttr);
    });
  }
};

} // namespace
