//===- CpuCodegen.cpp - Native code for the CPU targets
//--------------------===//
#include "compiler/Target/Target.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "passes/Conversion/ProfileSteps.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/Transforms/Utils/LoopUtils.h"

using namespace mlir;

namespace cascade {

namespace {

/// Writes a module's text to the IR dump destinations.
void dumpLLVM(const IRPrinting &printing, llvm::StringRef stage,
              llvm::Module &module, int index) {
  if (!printing.afterAll && printing.dumpDir.empty())
    return;
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os, nullptr);
  if (printing.afterAll && printing.dumpDir.empty())
    llvm::errs() << "// -----// IR Dump After " << stage
                 << " (llvm) //----- //\n"
                 << text << "\n";
  if (!printing.dumpDir.empty()) {
    llvm::SmallString<256> path(printing.dumpDir);
    llvm::sys::path::append(path,
                            llvm::formatv("llvm-{0}-{1}.ll", index, stage));
    std::error_code ec;
    llvm::raw_fd_ostream file(path, ec);
    if (!ec)
      file << text;
  }
}

/// Adds `void cascade_entry(void **buffers)` calling the model with one
/// pointer per tensor, and the manifest as `cascade_manifest`.
void addEntryPoints(llvm::Module &m, llvm::StringRef modelSymbol,
                    llvm::StringRef manifest) {
  // Each model exports `<symbol>_entry` and `<symbol>_manifest` (declared in
  // its header, so several models link into one program) and the generic
  // `cascade_entry` / `cascade_manifest` aliases the runtime looks up in a
  // model it loads on its own.
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Function *model = m.getFunction(modelSymbol);
  auto *ptrTy = llvm::PointerType::getUnqual(ctx);
  auto *entryTy =
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy}, false);
  auto *entry = llvm::Function::Create(
      entryTy, llvm::GlobalValue::ExternalLinkage, modelSymbol + "_entry", m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
  std::vector<llvm::Value *> args;
  for (unsigned i = 0; i < model->arg_size(); ++i) {
    llvm::Value *slot =
        b.CreateConstInBoundsGEP1_64(ptrTy, entry->getArg(0), i);
    args.push_back(b.CreateLoad(ptrTy, slot));
  }
  b.CreateCall(model, args);
  b.CreateRetVoid();

  auto *data = llvm::ConstantDataArray::getString(ctx, manifest, true);
  auto *global = new llvm::GlobalVariable(m, data->getType(), true,
                                          llvm::GlobalValue::ExternalLinkage,
                                          data, modelSymbol + "_manifest");
  global->setAlignment(llvm::Align(1));
  // Weak, so objects of several models still link into one program.
  llvm::GlobalAlias::create(llvm::GlobalValue::WeakAnyLinkage, "cascade_entry",
                            entry);
  llvm::GlobalAlias::create(llvm::GlobalValue::WeakAnyLinkage,
                            "cascade_manifest", global);
  // A profiled build's counters (cascade-profile-steps), for the runtime.
  if (llvm::GlobalVariable *counters =
          m.getGlobalVariable(kProfileCounters, /*AllowInternal=*/true)) {
    counters->setName(modelSymbol + "_profile");
    counters->setLinkage(llvm::GlobalValue::ExternalLinkage);
    llvm::GlobalAlias::create(llvm::GlobalValue::WeakAnyLinkage,
                              "cascade_profile", counters);
  }
}

/// Asks the loop vectorizer for vector-length-agnostic SVE code in every
/// innermost loop: scalable vectors, and the tail folded into predicated
/// iterations (whilelo) instead of a scalar epilogue, so one binary uses the
/// whole register at any vector length.
void annotateScalableLoops(llvm::Module &m) {
  for (llvm::Function &fn : m) {
    if (fn.isDeclaration())
      continue;
    llvm::DominatorTree dt(fn);
    llvm::LoopInfo loops(dt);
    for (llvm::Loop *loop : loops.getLoopsInPreorder())
      if (loop->isInnermost()) {
        llvm::addStringMetadataToLoop(loop,
                                      "llvm.loop.vectorize.scalable.enable", 1);
        llvm::addStringMetadataToLoop(
            loop, "llvm.loop.vectorize.predicate.enable", 1);
        llvm::addStringMetadataToLoop(loop, "llvm.loop.vectorize.width", 4);
      }
  }
}

} // namespace

/// Checks `--cpu` and `--features` against LLVM's tables before any work,
/// so a typo is one clean error (LLVM itself would only warn and ignore it),
/// located at the command line where the flag was given.
static LogicalResult checkMachine(Operation *anchor, const llvm::Target &target,
                                  const CpuMachine &mc) {
  Location flags =
      FileLineColLoc::get(anchor->getContext(), "<command line>", 1, 1);
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target.createMCSubtargetInfo(llvm::Triple(mc.triple), "", ""));
  if (!sti->isCPUStringValid(mc.cpu))
    return emitError(flags, "--cpu: unknown CPU '")
           << mc.cpu << "' for " << mc.triple;
  llvm::SmallVector<llvm::StringRef> features;
  llvm::StringRef(mc.features).split(features, ',', -1, false);
  for (llvm::StringRef f : features) {
    llvm::StringRef name = f.ltrim("+-");
    bool known = llvm::any_of(
        sti->getAllProcessorFeatures(),
        [&](const llvm::SubtargetFeatureKV &kv) { return name == kv.Key; });
    if (!known || (f[0] != '+' && f[0] != '-'))
      return emitError(flags, "--features: unknown CPU feature '")
             << f << "' for " << mc.triple << " (write +name or -name)";
  }
  return success();
}

std::optional<int64_t> parseByteSize(llvm::StringRef text) {
  llvm::StringRef b = text.trim();
  int64_t scale = 1;
  if (b.consume_back_insensitive("k"))
    scale = 1024;
  else if (b.consume_back_insensitive("m"))
    scale = 1024 * 1024;
  uint64_t v;
  if (b.getAsInteger(10, v) || v == 0 || v > (uint64_t(1) << 40) / scale)
    return std::nullopt;
  return int64_t(v) * scale;
}

/// The L2 cache of this machine's first core, from Linux's sysfs.
static std::optional<int64_t> hostL2Bytes() {
  for (int i = 0; i < 8; ++i) {
    std::string dir =
        "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    auto level = llvm::MemoryBuffer::getFileAsStream(dir + "level");
    if (!level)
      return std::nullopt;
    if ((*level)->getBuffer().trim() != "2")
      continue;
    auto size = llvm::MemoryBuffer::getFileAsStream(dir + "size");
    if (!size)
      return std::nullopt;
    return parseByteSize((*size)->getBuffer()); // "2048K"
  }
  return std::nullopt;
}

static void initializeLLVMTargets() {
  static bool done = [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    return true;
  }();
  (void)done;
}

FailureOr<CpuMachine> resolveCpuMachine(Operation *anchor,
                                        const TargetOptions &t) {
  initializeLLVMTargets();
  CpuMachine m;
  llvm::Triple host(llvm::sys::getProcessTriple());
  bool useHost =
      t.target == "host" ||
      (t.target == "x86_64" && host.getArch() == llvm::Triple::x86_64) ||
      (t.target == "aarch64" && host.isAArch64());
  if (t.target == "host") {
    if (!host.isX86() && !host.isAArch64())
      return anchor->emitError("no code generation for this host (")
             << host.str() << "); use --target=x86_64 or aarch64";
    m.arch = host.isAArch64() ? "aarch64" : "x86_64";
  } else {
    m.arch = t.target;
  }
  m.triple = m.arch == "aarch64" ? "aarch64-unknown-linux-gnu"
                                 : "x86_64-unknown-linux-gnu";
  m.native = m.arch == (host.isAArch64() ? "aarch64" : "x86_64");
  if (t.cpu.empty() && useHost) {
    m.cpu = llvm::sys::getHostCPUName().str();
    std::vector<std::string> feats;
    for (auto &f : llvm::sys::getHostCPUFeatures())
      feats.push_back((f.second ? "+" : "-") + f.first().str());
    llvm::sort(feats);
    m.features = llvm::join(feats, ",");
  } else if (t.cpu.empty()) {
    // A cross build for no particular CPU: the baseline of the ISA
    // (NEON is part of every aarch64 Linux CPU).
    m.cpu = m.arch == "aarch64" ? "generic" : "x86-64";
  } else {
    m.cpu = t.cpu;
  }
  if (!t.features.empty())
    m.features += (m.features.empty() ? "" : ",") + t.features;

  std::string err;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(llvm::Triple(m.triple), err);
  if (!target)
    return anchor->emitError("no LLVM target for ") << m.triple << ": " << err;
  if (failed(checkMachine(anchor, *target, m)))
    return failure();
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(llvm::Triple(m.triple), m.cpu, m.features));
  if (m.arch == "x86_64") {
    // AVX-512 has 32 vector registers, room for larger register tiles.
    m.registers = sti->checkFeatures("+avx512f") ? 32 : 16;
  } else {
    // 32 NEON registers of 128 bits: 16 of the kernels' 8-lane vectors.
    m.registers = 16;
    m.scalable = sti->checkFeatures("+sve");
    // The fixed-width kernels would run NEON code on an SVE machine; with
    // SVE the loop vectorizer makes vector-length-agnostic loops instead.
    m.kernels = !m.scalable;
    // No aarch64 build of libomp here: parallel loops run in sequence.
    m.openmp = m.native;
  }
  m.gpuLoops = t.gpuLoops;
  m.profile = t.profile && !t.gpuLoops;
  if (t.l2Bytes)
    m.l2Bytes = t.l2Bytes;
  else if (useHost && t.cpu.empty())
    if (std::optional<int64_t> l2 = hostL2Bytes())
      m.l2Bytes = *l2;
  return m;
}

/// True if the model function is still at the cascade level (tensors).
static bool isCascadeLevel(func::FuncOp f) {
  return llvm::all_of(f.getArgumentTypes(),
                      [](Type t) { return isa<RankedTensorType>(t); }) &&
         llvm::all_of(f.getResultTypes(),
                      [](Type t) { return isa<RankedTensorType>(t); });
}

LogicalResult compileForCpu(ModuleOp input, const TargetOptions &t,
                            const IRPrinting &printing, CpuArtifact &out,
                            bool wantText, int64_t *scratchBytes) {
  MLIRContext *ctx = input.getContext();
  func::FuncOp inputFunc = getModelFunction(input);
  if (!inputFunc)
    return input.emitError("no model function to compile");
  if (!isCascadeLevel(inputFunc))
    return inputFunc.emitError("code generation starts from the cascade "
                               "level (tensors); this model is already "
                               "lowered");

  FailureOr<CpuMachine> resolved = resolveCpuMachine(input, t);
  if (failed(resolved))
    return failure();
  const CpuMachine &mc = *resolved;
  out.machine = mc;
  llvm::Triple triple(mc.triple);
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target)
    return input.emitError("no LLVM target for ") << mc.triple << ": " << err;

  OwningOpRef<ModuleOp> module = input.clone();
  func::FuncOp f = getModelFunction(*module);
  std::string modelName = f.getSymName().str();
  std::string symbol = "cascade_" + modelName;
  f.setSymName(symbol);

  // The manifest needs the scratch size of the loop level: measure it on a
  // copy, so the real pipeline below is one pass manager (one numbering of
  // the IR dumps).
  int64_t scratch = 0;
  ArrayAttr profileSteps;
  {
    OwningOpRef<ModuleOp> loops = module->clone();
    // Warnings come from the real pipeline below, once.
    ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &d) {
      return success(d.getSeverity() == DiagnosticSeverity::Warning);
    });
    PassManager pm(ctx);
    addLowerToLoopsPipeline(pm, mc);
    if (failed(pm.run(*loops)))
      return failure();
    scratch = computeScratchBytes(*loops);
    profileSteps = (*loops)->getAttrOfType<ArrayAttr>(kProfileStepsAttr);
  }
  if (scratchBytes)
    *scratchBytes = scratch;
  std::string manifestText = buildManifest(input, mc, scratch, profileSteps);
  out.manifest = manifestText;
  {
    PassManager pm(ctx);
    configureIRPrinting(pm, printing);
    addLowerToLoopsPipeline(pm, mc);
    addLoopsToLLVMPipeline(pm, mc);
    if (failed(pm.run(*module)))
      return failure();
  }

  // The cascade.* signature attributes served the manifest; LLVM has no
  // use for them.
  module->walk([](LLVM::LLVMFuncOp fn) {
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      SmallVector<StringAttr> names;
      if (DictionaryAttr d = fn.getArgAttrDict(i))
        for (NamedAttribute a : d)
          if (a.getName().getValue().starts_with("cascade."))
            names.push_back(a.getName());
      for (StringAttr n : names)
        fn.removeArgAttr(i, n);
    }
    SmallVector<StringAttr> fnAttrs;
    for (NamedAttribute a : fn->getDiscardableAttrs())
      if (a.getName().getValue().starts_with("cascade."))
        fnAttrs.push_back(a.getName());
    for (StringAttr n : fnAttrs)
      fn->removeAttr(n);
  });

  // scf-to-cf carries a loop's `llvm.loop_annotation` (schedule
  // `vectorize`) to its back edge as a discardable attribute; LLVM IR
  // translation reads the branch's own `loop_annotation`.
  module->walk([](LLVM::BrOp br) {
    if (auto a = br->getAttrOfType<LLVM::LoopAnnotationAttr>(
            "llvm.loop_annotation")) {
      br.setLoopAnnotationAttr(a);
      br->removeAttr("llvm.loop_annotation");
    }
  });

  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);
  llvm::LLVMContext llvmCtx;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmCtx, modelName);
  if (!llvmModule)
    return input.emitError("translation to LLVM IR failed");
  addEntryPoints(*llvmModule, symbol, manifestText);
  if (mc.scalable)
    annotateScalableLoops(*llvmModule);
  dumpLLVM(printing, "translate-to-llvm-ir", *llvmModule, 0);

  llvm::TargetOptions opts;
  // Multiply-adds become FMAs (clang's -ffp-contract=fast): the loops the
  // vectorizer makes from `a * b + c` then use fmla/vfmadd like the kernels.
  opts.AllowFPOpFusion = llvm::FPOpFusion::Fast;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, mc.cpu, mc.features, opts, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    return input.emitError("cannot create a target machine for ") << mc.triple;
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(tm->createDataLayout());
  for (llvm::Function &fn : *llvmModule)
    if (!fn.isDeclaration()) {
      fn.addFnAttr("target-cpu", mc.cpu);
      if (!mc.features.empty())
        fn.addFnAttr("target-features", mc.features);
      // Whole 512-bit vectors where the CPU has them: LLVM otherwise keeps
      // its loop vectorizer to 256 bits on AVX-512 CPUs (a clock penalty
      // of older parts), halving the elementwise and exp loops.
      if (mc.arch == "x86_64" && mc.registers == 32)
        fn.addFnAttr("prefer-vector-width", "512");
      // SVE registers hold 128 to 2048 bits (vscale 1 to 16), as clang
      // says for SVE code; one binary runs at every length.
      if (mc.scalable)
        fn.addFnAttr(llvm::Attribute::getWithVScaleRangeArgs(llvmCtx, 1, 16));
    }

  // The standard -O3 pipeline: the loop vectorizer does the SIMD work on
  // the loop nests the lowering produced.
  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions pto;
    pto.LoopVectorization = true;
    pto.SLPVectorization = true;
    llvm::PassBuilder pb(tm.get(), pto);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm =
        pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
    mpm.run(*llvmModule, mam);
  }
  if (llvm::verifyModule(*llvmModule, &llvm::errs()))
    return input.emitError("LLVM IR verification failed after optimization");
  dumpLLVM(printing, "llvm-O3", *llvmModule, 1);
  if (wantText) {
    llvm::raw_string_ostream os(out.llvmIR);
    llvmModule->print(os, nullptr);
  }

  auto emit = [&](llvm::CodeGenFileType kind, std::string &dst) {
    llvm::SmallVector<char, 0> buffer;
    llvm::raw_svector_ostream os(buffer);
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr, kind))
      return false;
    // Code generation mutates the module; emit from a fresh copy each time.
    pm.run(*llvmModule);
    dst.assign(buffer.begin(), buffer.end());
    return true;
  };
  if (wantText) {
    std::unique_ptr<llvm::Module> copy = llvm::CloneModule(*llvmModule);
    std::swap(copy, llvmModule);
    if (!emit(llvm::CodeGenFileType::AssemblyFile, out.assembly))
      return input.emitError("cannot emit assembly for ") << mc.triple;
    std::swap(copy, llvmModule);
  }
  if (!emit(llvm::CodeGenFileType::ObjectFile, out.object))
    return input.emitError("cannot emit object code for ") << mc.triple;
  return success();
}

} // namespace cascade
