//===- ChooseStrategy.cpp - Record how each equation executes -------------===//
#include "dialects/Cascade/IR/CascadeOps.h"
#include "passes/Passes.h"
#include "passes/Strategy/LoweringStrategy.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADECHOOSESTRATEGY
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;
using namespace cascade;

namespace {

struct ChooseStrategy
    : public cascade::impl::CascadeChooseStrategyBase<ChooseStrategy> {
  using CascadeChooseStrategyBase::CascadeChooseStrategyBase;
  void runOnOperation() override {
    if (l2Bytes < 1) {
      getOperation().emitError("cascade-choose-strategy: l2-bytes must be "
                               "positive");
      return signalPassFailure();
    }
    if (target != "cpu" && target != "gpu") {
      getOperation().emitError("cascade-choose-strategy: target must be cpu "
                               "or gpu, got '")
          << target << "'";
      return signalPassFailure();
    }
    StrategyOptions options;
    options.gpu = target == "gpu";
    options.parallel = parallel;
    options.kernels = kernels;
    options.fuseRecurrences = fuseRecurrences;
    options.tileRecurrences = tileRecurrences;
    options.machine.registers = registers;
    options.machine.l2Bytes = l2Bytes;
    SmallVector<func::FuncOp> functions;
    getOperation().walk([&](func::FuncOp f) {
      if (isUnloweredModel(f))
        functions.push_back(f);
    });
    for (func::FuncOp f : functions)
      if (failed(chooseStrategy(f, options)))
        return signalPassFailure();
  }
};

} // namespace
