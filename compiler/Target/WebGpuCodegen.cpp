//===- WebGpuCodegen.cpp - WGSL kernels and a dispatch manifest -----------===//
//
// The model takes the GPU targets' path to kernels (one parallel loop nest
// per kernel, register-tiled, spread over workgroups of at most 256
// invocations and outlined), then each kernel is translated to WGSL by the
// project's own emitter (WgslEmitter.cpp). What remains of the host
// function is a straight sequence of launches over the model's tensors and
// scratch buffers: it becomes the manifest's kernel list, which the JS
// runtime (runtime/webgpu/) replays on a GPUDevice.
//
//===----------------------------------------------------------------------===//
#include "compiler/Target/GpuHost.h"
#include "compiler/Target/WgslEmitter.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace mlir;

namespace {
// Lower than WebGPU's defaults only to exercise packing and grid folding in
// tests; a model compiled with the defaults runs on every WebGPU device.
llvm::cl::opt<int64_t> maxStorageBuffers(
    "webgpu-max-storage-buffers", llvm::cl::Hidden, llvm::cl::init(8),
    llvm::cl::desc("WebGPU: storage buffers per kernel before packing"));
llvm::cl::opt<int64_t> maxWorkgroupsPerDim(
    "webgpu-max-workgroups", llvm::cl::Hidden, llvm::cl::init(65535),
    llvm::cl::desc("WebGPU: workgroups per dispatch dimension before "
                   "folding"));
llvm::cl::opt<int64_t> registerTile(
    "webgpu-register-tile", llvm::cl::Hidden, llvm::cl::init(4),
    llvm::cl::desc("WebGPU: outputs per invocation along each tiled "
                   "dimension (0: no register tiling)"));
llvm::cl::opt<int64_t> workgroupSize(
    "webgpu-workgroup-size", llvm::cl::Hidden, llvm::cl::init(256),
    llvm::cl::desc("WebGPU: invocations per workgroup (at most 256)"));
} // namespace

namespace cascade {

namespace {

LogicalResult translateLaunches(func::FuncOp host, const WgslOptions &options,
                                const std::string &modelName,
                                WebGpuArtifact &out, llvm::json::Array &scratch,
                                llvm::json::Array &kernels,
                                llvm::json::Object &limits) {
  HostBuffers buffers(host);
  int64_t maxInvocations = 1, maxBuffers = 1;
  auto onScratch = [&](MemRefType t) {
    scratch.push_back(t.getNumElements());
    out.scratchBytes += t.getNumElements() * (options.f16 ? 2 : 4);
  };
  auto onLaunch = [&](gpu::LaunchFuncOp launch) -> LogicalResult {
    auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
        launch, launch.getKernel());
    if (!kernel)
      return launch.emitError("internal error: kernel not found");
    gpu::KernelDim3 g = launch.getGridSizeOperandValues();
    auto gx = constantIndex(g.x), gy = constantIndex(g.y),
         gz = constantIndex(g.z);
    if (!gx || !gy || !gz)
      return launch.emitError("internal error: launch sizes are not "
                              "constant");
    SmallVector<Attribute> scalars;
    for (Value v : launch.getKernelOperands()) {
      auto c = v.getDefiningOp<arith::ConstantOp>();
      scalars.push_back(c ? c.getValue() : Attribute());
    }
    WgslKernel k;
    if (failed(emitWgsl(kernel, {*gx, *gy, *gz}, scalars, options, k)))
      return failure();
    std::string file =
        llvm::formatv("{0}.k{1}.wgsl", modelName, kernels.size()).str();
    out.wgsl.push_back({file, k.code});
    llvm::json::Array bindings, parts;
    for (auto [i, v] : llvm::enumerate(launch.getKernelOperands())) {
      const WgslArgument &a = k.arguments[i];
      if (!isa<MemRefType>(v.getType()))
        continue;
      std::optional<llvm::json::Object> described = buffers.describe(v);
      if (!described)
        return launch.emitError("internal error: a kernel buffer is neither "
                                "a model tensor nor a scratch buffer");
      llvm::json::Object o = std::move(*described);
      o["elements"] = a.elements;
      o["written"] = a.written;
      if (a.binding >= 0) {
        o["binding"] = a.binding;
        bindings.push_back(std::move(o));
      } else {
        o["offset"] = a.packOffset;
        parts.push_back(std::move(o));
      }
    }
    int64_t used = bindings.size() + (k.packBinding >= 0 ? 1 : 0);
    maxBuffers = std::max(maxBuffers, used);
    maxInvocations =
        std::max(maxInvocations,
                 k.workgroupSize[0] * k.workgroupSize[1] * k.workgroupSize[2]);
    llvm::json::Object entry{
        {"name", kernel->getParentOfType<gpu::GPUModuleOp>().getName().str()},
        {"wgsl", file},
        {"entry", "main"},
        {"workgroup_size", llvm::json::Array(k.workgroupSize)},
        {"dispatch", llvm::json::Array(k.dispatch)},
        {"bindings", std::move(bindings)}};
    if (k.packBinding >= 0)
      entry["pack"] = llvm::json::Object{{"binding", k.packBinding},
                                         {"elements", k.packElements},
                                         {"parts", std::move(parts)}};
    kernels.push_back(std::move(entry));
    return success();
  };
  if (failed(walkHostLaunches(buffers, onScratch, onLaunch)))
    return failure();
  // What the runtime must request of the adapter (all within the defaults
  // unless hidden test options lowered them).
  limits =
      llvm::json::Object{{"maxComputeInvocationsPerWorkgroup", maxInvocations},
                         {"maxStorageBuffersPerShaderStage", maxBuffers}};
  return success();
}

} // namespace

LogicalResult compileForWebGpu(ModuleOp input, const TargetOptions &t,
                               const IRPrinting &printing,
                               WebGpuArtifact &out) {
  if (!getModelFunction(input))
    return input.emitError("no model function to compile");
  if (!t.cpu.empty() || !t.arch.empty())
    return input.emitError("--cpu and --arch do not apply to the WebGPU "
                           "target (it takes --features=+f16)");
  WgslOptions options;
  options.maxStorageBuffers = maxStorageBuffers;
  options.maxWorkgroupsPerDim = maxWorkgroupsPerDim;
  if (workgroupSize < 1 || workgroupSize > 256)
    return input.emitError("the WebGPU workgroup size must be in [1, 256]");
  if (maxStorageBuffers < 2)
    return input.emitError("a WebGPU kernel needs at least 2 storage "
                           "buffers");
  llvm::SmallVector<StringRef> features;
  StringRef(t.features).split(features, ',', -1, false);
  for (StringRef f : features) {
    if (f == "+f16")
      options.f16 = true;
    else if (f != "-f16")
      return input.emitError("unknown WebGPU feature '")
             << f << "' (the WebGPU target has one: +f16)";
  }
  out.f16 = options.f16;

  OwningOpRef<ModuleOp> module = input.clone();
  std::string modelName = getModelFunction(*module).getSymName().str();
  auto runPipeline = [&](const std::string &text) {
    return runPipelineText(*module, text, printing, input);
  };
  if (failed(runPipeline(gpuLaunchPipeline(workgroupSize, registerTile))))
    return failure();
  sinkLaunchConstants(*module);
  if (failed(runPipeline("gpu-kernel-outlining,gpu.module(gpu.func("
                         "canonicalize,cse))")))
    return failure();

  llvm::json::Array scratch, kernels;
  llvm::json::Object limits;
  if (failed(translateLaunches(getModelFunction(*module), options, modelName,
                               out, scratch, kernels, limits)))
    return failure();

  llvm::json::Object manifest = manifestBase(input);
  manifest["target"] = "webgpu";
  manifest["storage"] = options.f16 ? "f16" : "f32";
  manifest["features"] =
      options.f16 ? llvm::json::Array{"shader-f16"} : llvm::json::Array{};
  manifest["limits"] = std::move(limits);
  manifest["scratch_bytes"] = out.scratchBytes;
  manifest["scratch"] = std::move(scratch);
  manifest["kernels"] = std::move(kernels);
  manifest["runtime"] = "cascade-webgpu.mjs";
  llvm::raw_string_ostream ms(out.manifest);
  ms << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest)));
  return success();
}

} // namespace cascade
