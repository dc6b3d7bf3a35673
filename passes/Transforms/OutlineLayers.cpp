//===- OutlineLayers.cpp - Compile identical layer calls once -------------===//
//
// The frontend expands layer calls and marks each equation of a top-level
// call with the call ("DEF#N"). This pass moves each call of a layer that is
// called often enough into a function of its own and shares that function
// among the calls whose bodies are identical up to equation names, so the
// lowering and LLVM see a 12-layer encoder's layer once.
//
//===----------------------------------------------------------------------===//
#include "dialects/Cascade/IR/CascadeOps.h"
#include "passes/Passes.h"

#include "mlir/Analysis/TopologicalSortUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADEOUTLINELAYERS
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;
using namespace cascade;

namespace {

/// The equations of one top-level call, in block order.
struct CallSite {
  std::string def;
  SmallVector<Operation *> ops;
};

/// A function made for a layer, with the text that identifies its body.
struct LayerFunction {
  func::FuncOp func;
  std::string fingerprint;
};

bool isWeight(Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg)
    return false;
  auto f = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  auto role =
      f ? f.getArgAttrOfType<StringAttr>(arg.getArgNumber(), attrs::kRole)
        : StringAttr();
  return role && role.getValue() == "weight";
}

/// The function printed in generic form with its name and its equations'
/// names blanked: two calls of one layer print the same text exactly when
/// they compute the same thing on their arguments.
std::string fingerprint(func::FuncOp f) {
  SmallVector<std::pair<EinsumOp, std::string>> names;
  f.walk([&](EinsumOp op) {
    names.push_back({op, op.getName().str()});
    op.setName("");
  });
  std::string name = f.getSymName().str();
  f.setSymName("layer");
  std::string text;
  llvm::raw_string_ostream os(text);
  f->print(os, OpPrintingFlags().printGenericOpForm().useLocalScope());
  f.setSymName(name);
  for (auto &[op, n] : names)
    op.setName(n);
  return text;
}

struct OutlineLayers
    : public cascade::impl::CascadeOutlineLayersBase<OutlineLayers> {
  using CascadeOutlineLayersBase::CascadeOutlineLayersBase;

  void runOnOperation() override {
    SmallVector<func::FuncOp> models;
    // A schedule's loop directives name the expanded equations: a model
    // with one keeps its calls inline.
    for (auto f : getOperation().getOps<func::FuncOp>()) {
      auto schedule = f->getAttrOfType<ArrayAttr>("cascade.schedule");
      if (f->hasAttr(attrs::kModel) && !f.isExternal() &&
          (!schedule || schedule.empty()))
        models.push_back(f);
    }
    for (func::FuncOp f : models)
      if (failed(outlineModel(f)))
        return signalPassFailure();
  }

  LogicalResult outlineModel(func::FuncOp model) {
    Block &body = model.getBody().front();
    llvm::MapVector<StringRef, CallSite> sites;
    for (Operation &op : body.without_terminator())
      if (auto site = op.getAttrOfType<StringAttr>(kCallSiteAttr)) {
        CallSite &s = sites[site.getValue()];
        s.def = site.getValue().rsplit('#').first.str();
        s.ops.push_back(&op);
      }
    llvm::StringMap<unsigned> callsOf;
    for (auto &entry : sites)
      ++callsOf[entry.second.def];
    std::map<std::string, SmallVector<LayerFunction>> functions;
    for (auto &entry : sites) {
      CallSite &site = entry.second;
      if (callsOf[site.def] >= minCalls)
        outlineCall(model, site, functions[site.def]);
    }
    if (!sortTopologically(&body))
      return model.emitError("cascade-outline-layers: the model's equations "
                             "form a cycle after outlining");
    return success();
  }

  /// Replaces the equations of `site` by a call of a function computing
  /// them: one of `candidates` if identical, else a new one.
  void outlineCall(func::FuncOp model, CallSite &site,
                   SmallVector<LayerFunction> &candidates) {
    llvm::SmallPtrSet<Operation *, 32> inSite(site.ops.begin(), site.ops.end());
    // Results: the call's tensors read outside it (or returned).
    SmallVector<Value> results;
    for (Operation *op : site.ops)
      for (Value r : op->getResults())
        if (llvm::any_of(r.getUsers(),
                         [&](Operation *u) { return !inSite.count(u); }))
          results.push_back(r);
    // The equations in an order that depends only on the dataflow (the
    // model's dependence order may interleave calls differently), so that
    // identical calls give identical functions.
    SmallVector<Operation *> ordered;
    llvm::SmallPtrSet<Operation *, 32> seen;
    std::function<void(Operation *)> visit = [&](Operation *op) {
      if (!op || !inSite.count(op) || !seen.insert(op).second)
        return;
      for (Value v : op->getOperands())
        visit(v.getDefiningOp());
      ordered.push_back(op);
    };
    for (Value r : results)
      visit(r.getDefiningOp());
    for (Operation *op : site.ops)
      visit(op);
    // Arguments: the tensors the call reads (inputs, then weights, each in
    // order of first use). Bodies only read their own block arguments, so
    // the operands are all a call reads.
    llvm::SetVector<Value> inputs, weights;
    for (Operation *op : ordered) {
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(op->getRegions(), captured);
      if (!captured.empty())
        return; // not an equation the frontend made: leave the call inline
      for (Value v : op->getOperands())
        if (!inSite.count(v.getDefiningOp()))
          (isWeight(v) ? weights : inputs).insert(v);
    }
    SmallVector<Value> args(inputs.begin(), inputs.end());
    args.append(weights.begin(), weights.end());

    MLIRContext *ctx = model.getContext();
    OpBuilder b(ctx);
    Location loc = site.ops.front()->getLoc();
    b.setInsertionPointAfter(model);
    auto fn = func::FuncOp::create(
        b, loc, (model.getSymName() + "_" + site.def).str(),
        b.getFunctionType(ValueRange(args).getTypes(),
                          ValueRange(results).getTypes()));
    fn.setPrivate();
    fn->setAttr(kLayerAttr, b.getStringAttr(site.def));
    Block *entry = fn.addEntryBlock();
    IRMapping map;
    for (auto [v, arg] : llvm::zip(args, entry->getArguments()))
      map.map(v, arg);
    b.setInsertionPointToEnd(entry);
    for (Operation *op : ordered)
      b.clone(*op, map)->removeAttr(kCallSiteAttr);
    SmallVector<Value> returned;
    for (Value r : results)
      returned.push_back(map.lookup(r));
    func::ReturnOp::create(b, loc, returned);

    std::string text = fingerprint(fn);
    func::FuncOp callee;
    for (LayerFunction &c : candidates)
      if (c.fingerprint == text)
        callee = c.func;
    if (callee) {
      fn.erase();
    } else {
      // A new function; the symbol table makes its name unique.
      fn->remove();
      SymbolTable(model->getParentOp())
          .insert(fn, std::next(model->getIterator()));
      candidates.push_back({fn, text});
      callee = fn;
    }

    b.setInsertionPointAfter(site.ops.back());
    auto call = func::CallOp::create(b, loc, callee, args);
    for (auto [r, c] : llvm::zip(results, call.getResults()))
      r.replaceAllUsesWith(c);
    for (Operation *op : llvm::reverse(site.ops)) {
      op->dropAllUses();
      op->erase();
    }
  }
};

} // namespace
