//===- Pipeline.cpp - MLIR pass pipelines for the CPU targets
//--------------===//
#include "compiler/Target/Target.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "passes/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace cascade {

void configureIRPrinting(PassManager &pm, const IRPrinting &printing) {
  if (!printing.afterAll && !printing.afterChange && printing.dumpDir.empty())
    return;
  pm.getContext()->disableMultithreading();
  auto never = [](Pass *, Operation *) { return false; };
  auto always = [](Pass *, Operation *) { return true; };
  if (!printing.dumpDir.empty()) {
    llvm::sys::fs::create_directories(printing.dumpDir);
    pm.enableIRPrintingToFileTree(never, always, /*printModuleScope=*/true,
                                  /*printAfterOnlyOnChange=*/
                                  printing.afterChange,
                                  /*printAfterOnlyOnFailure=*/false,
                                  printing.dumpDir);
  } else {
    pm.enableIRPrinting(never, always, /*printModuleScope=*/true,
                        /*printAfterOnlyOnChange=*/printing.afterChange,
                        /*printAfterOnlyOnFailure=*/false, llvm::errs());
  }
}

std::string gpuStrategy() {
  // One thread per output: no CPU micro-kernels, no fused recurrence loops
  // (cascade-parallelize-nests needs independent nests).
  return "cascade-choose-strategy{target=gpu}";
}

std::string gpuLoopsPipeline(int64_t blockSize, int64_t registerTile) {
  // No canonicalization after cascade-parallelize-nests: it would inline
  // the one-iteration parallel loops that make scalar code a kernel.
  std::string tiling =
      registerTile > 0
          ? "cascade-gpu-register-tile{tile=" + std::to_string(registerTile) +
                "},cse,"
          : "";
  return gpuStrategy() +
         ",cascade-lower-to-loops,canonicalize,cse,"
         "func.func(cascade-math-approximation{expand-pow=true},canonicalize,"
         "cascade-parallelize-nests," +
         tiling +
         "cascade-gpu-distribute{block-size=" + std::to_string(blockSize) +
         "})";
}

void addStrategyPipeline(OpPassManager &pm, const CpuMachine &machine) {
  if (machine.gpuLoops) {
    if (failed(parsePassPipeline(gpuStrategy(), pm)))
      llvm::report_fatal_error("bad GPU strategy pipeline");
    return;
  }
  pm.addPass(createCascadeOutlineLayers());
  if (machine.kernels)
    pm.addPass(createCascadeOrientContractions());
  CascadeChooseStrategyOptions options;
  options.registers = machine.registers;
  options.l2Bytes = machine.l2Bytes;
  options.kernels = machine.kernels;
  pm.addPass(createCascadeChooseStrategy(options));
}

void addLowerToLoopsPipeline(OpPassManager &pm, const CpuMachine &machine) {
  if (machine.gpuLoops) {
    if (failed(parsePassPipeline(gpuLoopsPipeline(256), pm)))
      llvm::report_fatal_error("bad GPU loops pipeline");
    return;
  }
  addStrategyPipeline(pm, machine);
  // The kernels' shapes follow the strategy's machine.
  CascadeLowerToLoopsOptions options;
  options.registers = machine.registers;
  options.l2Bytes = machine.l2Bytes;
  options.kernels = machine.kernels;
  options.steps = machine.profile;
  pm.addPass(createCascadeLowerToLoops(options));
  if (machine.profile)
    pm.addPass(createCascadeProfileSteps());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
}

void addLoopsToLLVMPipeline(OpPassManager &pm, const CpuMachine &machine) {
  CascadeMathApproximationOptions math;
  // AVX-512 scales by 2^k in one instruction (vscalefps).
  math.scaleExp = machine.arch == "x86_64" && machine.registers == 32;
  pm.addPass(createCascadeMathApproximation(math));
  // scf.parallel loops run on the OpenMP runtime's thread pool (libomp):
  // the one pool of a Cascade process. Without it (cross targets with no
  // libomp build) scf-to-cf runs them as sequential loops.
  if (machine.openmp)
    pm.addPass(createConvertSCFToOpenMPPass());
  // Inlines the memref.alloca_scope the conversion wraps loop bodies in (no
  // allocas here), which would otherwise break when scf becomes cf.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  ConvertFuncToLLVMPassOptions funcOptions;
  funcOptions.useBarePtrCallConv = true; // C signatures: one float* a tensor
  pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

int64_t computeScratchBytes(ModuleOp loopLevel) {
  int64_t live = 0, peak = 0;
  loopLevel.walk([&](Operation *op) {
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      MemRefType t = alloc.getType();
      live += t.getNumElements() * (t.getElementTypeBitWidth() / 8);
      peak = std::max(peak, live);
    } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
      auto t = cast<MemRefType>(dealloc.getMemref().getType());
      live -= t.getNumElements() * (t.getElementTypeBitWidth() / 8);
    }
  });
  return peak;
}

func::FuncOp getModelFunction(ModuleOp module) {
  for (auto f : module.getOps<func::FuncOp>())
    if (f->hasAttr(attrs::kModel))
      return f;
  return {};
}

} // namespace cascade
