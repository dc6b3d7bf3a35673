//===- PassCount.cpp - Annotate models with their pass counts
//--------------===//
#include "passes/Analysis/CascadeAnalysis.h"
#include "passes/Passes.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADEPASSCOUNT
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;

namespace {
struct PassCount : public cascade::impl::CascadePassCountBase<PassCount> {
  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp func) {
      if (!func->hasAttr(cascade::attrs::kModel))
        return;
      cascade::CascadeAnalysis a = cascade::analyzeCascade(func);
      Builder b(func.getContext());
      SmallVector<NamedAttribute> counts;
      for (auto &[rank, n] : a.passes)
        counts.push_back(b.getNamedAttr(rank, b.getI64IntegerAttr(n)));
      func->setAttr("cascade.passes", b.getDictionaryAttr(counts));
    });
  }
};
} // namespace
