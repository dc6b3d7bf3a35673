//===- StrategyReport.cpp - The strategy as `cascade analyze` shows it ----===//
#include "compiler/Driver/StrategyReport.h"
#include "compiler/Target/Target.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "passes/Strategy/LoweringStrategy.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace cascade {

namespace {

/// The model function first, then the outlined layers, in module order.
SmallVector<func::FuncOp> functionsInOrder(ModuleOp module) {
  SmallVector<func::FuncOp> out;
  if (func::FuncOp model = getModelFunction(module))
    out.push_back(model);
  for (auto f : module.getOps<func::FuncOp>())
    if (f->hasAttr(kLayerAttr))
      out.push_back(f);
  return out;
}

/// The equation's name as the cascade prints it: `init NAME` for the
/// equation that starts a recurrence.
std::string equationName(EinsumOp op) {
  for (Operation *user : op.getResult().getUsers())
    if (auto rec = dyn_cast<EinsumOp>(user);
        rec && rec.isRecurrence() && rec.getInit() == op.getResult())
      return ("init " + op.getName()).str();
  return op.getName().str();
}

std::string kernelShape(LoweringConfigAttr c) {
  std::string out = stringifyKernelForm(c.getKernel()).str();
  ArrayRef<int64_t> t = c.getRegisterTile();
  if (t.size() == 3)
    out += llvm::formatv(" {0}x{1}x{2}", t[0], t[1], t[2]).str();
  if (c.getKc())
    out += llvm::formatv(" kc={0}", c.getKc()).str();
  return out;
}

std::string details(LoweringConfigAttr c) {
  SmallVector<std::string> parts;
  if (c.getKernel() != KernelForm::None)
    parts.push_back(kernelShape(c));
  if (c.getParallel())
    parts.push_back("parallel");
  if (!c.getEpilogue().empty())
    parts.push_back(("epilogue " + c.getEpilogue()).str());
  if (!c.getSteps().empty())
    parts.push_back(("step of " + c.getSteps()).str());
  if (!c.getFused().empty()) {
    std::string fused = ("in " + c.getFused()).str();
    if (ArrayAttr shared = c.getShared()) {
      SmallVector<StringRef> loops(shared.getAsValueRange<StringAttr>());
      fused += " (" + llvm::join(loops, ", ") + ")";
    }
    parts.push_back(fused);
  }
  if (!c.getReason().empty())
    parts.push_back(("no kernel: " + c.getReason()).str());
  if (c.getSkipMasked())
    parts.push_back("steps with every score masked skipped");
  return llvm::join(parts, "; ");
}

} // namespace

void printStrategy(ModuleOp module, llvm::raw_ostream &os) {
  for (func::FuncOp f : functionsInOrder(module)) {
    if (f->hasAttr(kLayerAttr))
      os << "\n  layer " << f.getSymName() << ":\n";
    f.walk([&](EinsumOp op) {
      LoweringConfigAttr c = loweringConfig(op);
      if (!c)
        return;
      os << llvm::formatv("  {0,-20} {1,-18} {2}\n", equationName(op),
                          stringifyExecution(c.getExecution()), details(c));
    });
  }
}

llvm::json::Array strategyJson(ModuleOp module) {
  llvm::json::Array out;
  for (func::FuncOp f : functionsInOrder(module))
    f.walk([&](EinsumOp op) {
      LoweringConfigAttr c = loweringConfig(op);
      if (!c)
        return;
      llvm::json::Object o{
          {"name", equationName(op)},
          {"execution", stringifyExecution(c.getExecution()).str()},
          {"parallel", c.getParallel()}};
      if (f->hasAttr(kLayerAttr))
        o["layer"] = f.getSymName().str();
      if (c.getKernel() != KernelForm::None) {
        o["kernel"] = stringifyKernelForm(c.getKernel()).str();
        o["register_tile"] = llvm::json::Array(c.getRegisterTile());
        o["kc"] = c.getKc();
      }
      if (!c.getEpilogue().empty())
        o["epilogue"] = c.getEpilogue().str();
      if (!c.getSteps().empty())
        o["steps"] = c.getSteps().str();
      if (!c.getFused().empty()) {
        o["fused"] = c.getFused().str();
        llvm::json::Array loops;
        if (ArrayAttr shared = c.getShared())
          for (StringRef l : shared.getAsValueRange<StringAttr>())
            loops.push_back(l.str());
        o["shared"] = std::move(loops);
      }
      if (!c.getReason().empty())
        o["reason"] = c.getReason().str();
      if (c.getSkipMasked())
        o["skip_masked"] = true;
      out.push_back(std::move(o));
    });
  return out;
}

} // namespace cascade
