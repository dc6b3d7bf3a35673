//===- CudaCodegen.cpp - PTX kernels and a launch manifest for CUDA -------===//
//
// The model is lowered to loops as for a CPU, each top-level loop nest
// becomes a parallel loop (cascade-parallelize-nests), is spread over
// blocks and threads (cascade-gpu-distribute, gpu-map-parallel-loops) and
// outlined into a kernel; upstream NVVM lowering and LLVM's NVPTX backend
// give PTX. What remains of the host function is a straight sequence of
// launches over the model's tensors and scratch buffers: it becomes the
// manifest's kernel list, which the runtime replays with the driver API.
//
//===----------------------------------------------------------------------===//
#include "compiler/Target/GpuHost.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Utils/GPUUtils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

using namespace mlir;

namespace cascade {

FailureOr<GpuMachine> resolveGpuMachine(Operation *anchor,
                                        const TargetOptions &t) {
  GpuMachine m;
  if (!t.arch.empty())
    m.arch = t.arch;
  if (m.arch != "sm_80" && m.arch != "sm_90")
    return anchor->emitError("unknown CUDA architecture '")
           << m.arch << "' (expected sm_80 or sm_90)";
  if (!t.cpu.empty() || !t.features.empty())
    return anchor->emitError("--cpu and --features select a CPU; the CUDA "
                             "target takes --arch=sm_80|sm_90");
  // PTX ISA 8.0 (CUDA 12) is the first with sm_90; LLVM's default (6.0)
  // cannot express it.
  m.ptxFeatures = "+ptx80";
  return m;
}

namespace {

/// Moves every kernel into the first gpu.module, so the model is one PTX
/// module, and points the launches at it.
void mergeGpuModules(ModuleOp module) {
  auto modules = llvm::to_vector(module.getOps<gpu::GPUModuleOp>());
  if (modules.empty())
    return;
  // Outlining names every kernel after the model function; the modules
  // have unique names, which the kernels take.
  llvm::StringMap<std::string> renamed; // "module/kernel" -> new name
  for (gpu::GPUModuleOp m : modules)
    for (auto fn : m.getOps<gpu::GPUFuncOp>()) {
      std::string name = m.getName().str();
      renamed[(m.getName() + "/" + fn.getName()).str()] = name;
      SymbolTable::setSymbolName(fn, name);
    }
  gpu::GPUModuleOp first = modules.front();
  for (gpu::GPUModuleOp other : llvm::drop_begin(modules)) {
    for (Operation &op :
         llvm::make_early_inc_range(other.getBody()->getOperations()))
      op.moveBefore(first.getBody(), first.getBody()->end());
    other.erase();
  }
  module.walk([&](gpu::LaunchFuncOp launch) {
    std::string key = (launch.getKernelModuleName().getValue() + "/" +
                       launch.getKernelName().getValue())
                          .str();
    launch.setKernelAttr(SymbolRefAttr::get(
        first.getSymNameAttr(),
        {FlatSymbolRefAttr::get(module.getContext(), renamed.lookup(key))}));
  });
}

} // namespace

std::optional<int64_t> constantIndex(Value v) {
  if (auto c = v.getDefiningOp<arith::ConstantIndexOp>())
    return c.value();
  if (auto c = v.getDefiningOp<arith::ConstantIntOp>())
    return c.value();
  return std::nullopt;
}

LogicalResult runPipelineText(ModuleOp module, const std::string &text,
                              const IRPrinting &printing, Operation *anchor) {
  PassManager pm(module.getContext());
  configureIRPrinting(pm, printing);
  std::string err;
  llvm::raw_string_ostream es(err);
  if (failed(parsePassPipeline(text, pm, es)))
    return anchor->emitError("internal error: bad GPU pipeline: ") << err;
  return pm.run(module);
}

std::optional<llvm::json::Object> HostBuffers::describe(Value v) const {
  func::FuncOp f = host;
  if (auto arg = dyn_cast<BlockArgument>(v))
    if (arg.getOwner() == &f.getBody().front())
      return llvm::json::Object{
          {"tensor",
           f.getArgAttrOfType<StringAttr>(arg.getArgNumber(), attrs::kName)
               .str()}};
  auto it = scratch.find(v);
  if (it == scratch.end())
    return std::nullopt;
  return llvm::json::Object{{"scratch", it->second}};
}

LogicalResult walkHostLaunches(
    HostBuffers &buffers, llvm::function_ref<void(MemRefType)> onScratch,
    llvm::function_ref<LogicalResult(gpu::LaunchFuncOp)> onLaunch) {
  for (Operation &op : buffers.host.getBody().front()) {
    if (isa<arith::ConstantOp, memref::DeallocOp, func::ReturnOp>(op))
      continue;
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      MemRefType t = alloc.getType();
      if (!t.hasStaticShape())
        return alloc.emitError("internal error: dynamic scratch buffer");
      int64_t index = buffers.scratch.size();
      buffers.scratch[alloc] = index;
      onScratch(t);
      continue;
    }
    auto launch = dyn_cast<gpu::LaunchFuncOp>(op);
    if (!launch)
      return op.emitError("internal error: host code left after kernel "
                          "outlining: ")
             << op.getName();
    if (failed(onLaunch(launch)))
      return failure();
  }
  return success();
}

void sinkLaunchConstants(ModuleOp module) {
  module.walk([](gpu::LaunchOp launch) {
    (void)sinkOperationsIntoLaunchOp(launch, [](Operation *op) {
      return op->hasTrait<OpTrait::ConstantLike>();
    });
  });
}

namespace {

/// The host function after outlining as the manifest's buffers and launch
/// list: every launch argument is a model tensor, a scratch buffer or a
/// constant.
LogicalResult describeLaunches(func::FuncOp host, llvm::json::Array &scratch,
                               llvm::json::Array &kernels,
                               int64_t &scratchBytes) {
  HostBuffers buffers(host);
  scratchBytes = 0;
  auto onScratch = [&](MemRefType t) {
    int64_t bytes = t.getNumElements() * (t.getElementTypeBitWidth() / 8);
    scratch.push_back(bytes);
    scratchBytes += bytes;
  };
  auto onLaunch = [&](gpu::LaunchFuncOp launch) -> LogicalResult {
    auto dims = [&](gpu::KernelDim3 d) -> std::optional<llvm::json::Array> {
      auto x = constantIndex(d.x), y = constantIndex(d.y),
           z = constantIndex(d.z);
      if (!x || !y || !z)
        return std::nullopt;
      return llvm::json::Array{*x, *y, *z};
    };
    auto grid = dims(launch.getGridSizeOperandValues());
    auto block = dims(launch.getBlockSizeOperandValues());
    if (!grid || !block)
      return launch.emitError("internal error: launch sizes are not "
                              "constant");
    llvm::json::Array args;
    for (Value v : launch.getKernelOperands()) {
      if (std::optional<llvm::json::Object> buffer = buffers.describe(v)) {
        args.push_back(std::move(*buffer));
      } else if (auto c = v.getDefiningOp<arith::ConstantOp>()) {
        if (auto i = dyn_cast<IntegerAttr>(c.getValue()))
          args.push_back(llvm::json::Object{{"i64", i.getInt()}});
        else if (auto f = dyn_cast<FloatAttr>(c.getValue()))
          args.push_back(
              llvm::json::Object{{"f32", f.getValue().convertToDouble()}});
        else
          return launch.emitError("internal error: unsupported constant "
                                  "kernel argument");
      } else {
        return launch.emitError("internal error: kernel argument is neither "
                                "a buffer nor a constant");
      }
    }
    kernels.push_back(llvm::json::Object{{"name", launch.getKernelName().str()},
                                         {"grid", std::move(*grid)},
                                         {"block", std::move(*block)},
                                         {"shared_bytes", 0},
                                         {"args", std::move(args)}});
    return success();
  };
  return walkHostLaunches(buffers, onScratch, onLaunch);
}

/// Assembles `ptx` with ptxas into a cubin for `arch`. Returns false with
/// `error` set when ptxas rejects it; `found` says whether ptxas exists.
bool runPtxas(const std::string &ptx, const std::string &arch,
              std::string &cubin, bool &found, std::string &error) {
  std::string ptxas = findPtxas();
  found = !ptxas.empty();
  if (!found)
    return true;
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("cascade-ptxas", dir)) {
    error = "cannot create a temporary folder for ptxas";
    return false;
  }
  llvm::scope_exit cleanup([&] { llvm::sys::fs::remove_directories(dir); });
  std::string in = (dir + "/model.ptx").str(),
              out = (dir + "/model.cubin").str(),
              log = (dir + "/ptxas.log").str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(in, ec);
    if (ec) {
      error = "cannot write " + in + ": " + ec.message();
      return false;
    }
    os << ptx;
  }
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log, log};
  int rc = llvm::sys::ExecuteAndWait(
      ptxas, {ptxas, "-arch=" + arch, in, "-o", out}, std::nullopt, redirects);
  if (rc != 0) {
    auto text = llvm::MemoryBuffer::getFile(log);
    error = "ptxas rejected the generated PTX (internal error):\n" +
            (text ? (*text)->getBuffer().str() : std::string());
    return false;
  }
  auto bin = llvm::MemoryBuffer::getFile(out, /*IsText=*/false);
  if (!bin) {
    error = "ptxas wrote no cubin";
    return false;
  }
  cubin = (*bin)->getBuffer().str();
  return true;
}

} // namespace

std::string findPtxas() {
  if (const char *env = std::getenv("CASCADE_PTXAS"))
    return llvm::sys::fs::can_execute(env) ? env : "";
  if (auto p = llvm::sys::findProgramByName("ptxas"))
    return *p;
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin/ptxas";
  return "";
}

std::string gpuLaunchPipeline(int64_t blockSize, int64_t registerTile) {
  return gpuLoopsPipeline(blockSize, registerTile) +
         ",func.func(gpu-map-parallel-loops,convert-parallel-loops-to-gpu,"
         "lower-affine,canonicalize,cse)";
}

std::string nvvmPipeline(const GpuMachine &m) {
  return llvm::formatv("nvvm-attach-target{{chip={0} features={1} O=3},"
                       "gpu.module(cascade-math-to-llvm-intrinsics,convert-scf-"
                       "to-cf,convert-arith-to-llvm,"
                       "convert-index-to-llvm,"
                       "convert-gpu-to-nvvm{{use-bare-ptr-memref-call-conv=1},"
                       "canonicalize,cse),"
                       "reconcile-unrealized-casts,"
                       "func.func(canonicalize)",
                       m.arch, m.ptxFeatures);
}

LogicalResult compileForCuda(ModuleOp input, const TargetOptions &t,
                             const IRPrinting &printing, CudaArtifact &out) {
  MLIRContext *ctx = input.getContext();
  func::FuncOp inputFunc = getModelFunction(input);
  if (!inputFunc)
    return input.emitError("no model function to compile");
  FailureOr<GpuMachine> machine = resolveGpuMachine(input, t);
  if (failed(machine))
    return failure();
  out.machine = *machine;
  DialectRegistry registry;
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  // convert-gpu-to-nvvm takes the patterns of the other dialects from
  // their ConvertToLLVM interfaces.
  cf::registerConvertControlFlowToLLVMInterface(registry);
  arith::registerConvertArithToLLVMInterface(registry);
  index::registerConvertIndexToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);

  OwningOpRef<ModuleOp> module = input.clone();
  std::string modelName = getModelFunction(*module).getSymName().str();
  auto runPipeline = [&](const std::string &text) {
    return runPipelineText(*module, text, printing, input);
  };
  if (failed(runPipeline(gpuLaunchPipeline(machine->blockSize))))
    return failure();
  sinkLaunchConstants(*module);
  if (failed(runPipeline("gpu-kernel-outlining")))
    return failure();
  mergeGpuModules(*module);
  if (failed(runPipeline(nvvmPipeline(*machine))))
    return failure();
  out.kernelIR.clear();
  {
    llvm::raw_string_ostream os(out.kernelIR);
    module->print(os);
  }
  {
    PassManager pm(ctx);
    configureIRPrinting(pm, printing);
    pm.addPass(createGpuModuleToBinaryPass(
        GpuModuleToBinaryPassOptions{"", {}, "", "isa", ""}));
    if (failed(pm.run(*module)))
      return failure();
  }
  out.ptx.clear();
  for (auto binary : module->getOps<gpu::BinaryOp>())
    for (Attribute a : binary.getObjects())
      out.ptx += cast<gpu::ObjectAttr>(a).getObject().str();
  if (out.ptx.empty())
    return input.emitError("internal error: no PTX was generated");
  if (llvm::StringRef(out.ptx).contains(".extern .func"))
    return input.emitError("internal error: the PTX calls a function that "
                           "is not defined (a math function without a "
                           "GPU lowering)");

  func::FuncOp host = getModelFunction(*module);
  llvm::json::Array scratch, kernels;
  if (failed(describeLaunches(host, scratch, kernels, out.scratchBytes)))
    return failure();
  out.numKernels = kernels.size();

  std::string err;
  bool found = false;
  if (!runPtxas(out.ptx, machine->arch, out.cubin, found, err))
    return input.emitError(err);
  out.ptxasFound = found;

  llvm::json::Object manifest = manifestBase(input);
  manifest["target"] = "cuda";
  manifest["arch"] = machine->arch;
  manifest["ptx"] = modelName + ".ptx";
  if (!out.cubin.empty())
    manifest["cubin"] = modelName + "." + machine->arch + ".cubin";
  manifest["scratch_bytes"] = out.scratchBytes;
  manifest["scratch"] = std::move(scratch);
  manifest["kernels"] = std::move(kernels);
  llvm::raw_string_ostream ms(out.manifest);
  ms << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest)));
  return success();
}

} // namespace cascade
