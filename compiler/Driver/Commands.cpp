//===- Commands.cpp - The subcommands of the cascade CLI
//-------------------===//
#include "compiler/Driver/Commands.h"
#include "cascade/runtime.h"
#include "compiler/Driver/Execute.h"
#include "compiler/Driver/Files.h"
#include "compiler/Driver/Inputs.h"
#include "compiler/Driver/Session.h"
#include "compiler/Driver/StrategyReport.h"
#include "compiler/Driver/TargetBackend.h"
#include "compiler/Frontend/EinPrinter.h"
#include "compiler/Frontend/ModelBuilder.h"
#include "compiler/Interpreter/Interpreter.h"
#include "compiler/Tuner/Tuner.h"
#include "compiler/Tuner/TuningDb.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "passes/Analysis/CascadeAnalysis.h"
#include "passes/Passes.h"
#include "passes/Strategy/LoweringStrategy.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

using namespace mlir;

namespace cascade {

namespace {

/// Warns about each cascade rewrite (`cascade-one-pass`,
/// `cascade-defer-division`) that leaves the module unchanged: a schedule's
/// `rewrite` or a `--passes` entry that matched nothing would otherwise be
/// a silent no-op. The rewrites are located at `locs`, in pipeline order
/// (the schedule's directives), or all at `fallback` (the command line).
class UnmatchedRewriteWarnings : public PassInstrumentation {
public:
  UnmatchedRewriteWarnings(std::vector<std::pair<Location, std::string>> locs,
                           Location fallback)
      : locs(std::move(locs)), fallback(fallback) {}

  void runBeforePass(Pass *pass, Operation *op) override {
    if (isRewrite(pass))
      before.try_emplace(pass, OperationFingerPrint(op));
  }
  void runAfterPass(Pass *pass, Operation *op) override {
    if (!isRewrite(pass))
      return;
    auto it = before.find(pass);
    bool changed = it == before.end() || it->second != OperationFingerPrint(op);
    before.erase(pass);
    Location loc = fallback;
    std::string what;
    if (next < locs.size()) {
      loc = locs[next].first;
      what = locs[next].second;
      ++next;
    } else {
      llvm::raw_string_ostream os(what);
      pass->printAsTextualPipeline(os);
      what = "--passes " + what;
    }
    if (changed)
      return;
    bool onePass = pass->getArgument() == "cascade-one-pass";
    emitWarning(loc) << "'" << what << "' matched nothing, the model is "
                     << "unchanged: "
                     << (onePass ? "no contraction is normalized by a softmax "
                                   "(max, exp, sum, divide) over that rank"
                                 : "no softmax division comes before a "
                                   "contraction over the softmax's rank");
  }

private:
  static bool isRewrite(Pass *pass) {
    return pass->getArgument() == "cascade-one-pass" ||
           pass->getArgument() == "cascade-defer-division";
  }
  std::vector<std::pair<Location, std::string>> locs;
  Location fallback;
  size_t next = 0;
  llvm::DenseMap<Pass *, OperationFingerPrint> before;
};

/// The location of `--passes` in diagnostics.
Location commandLineLoc(MLIRContext *ctx) {
  return FileLineColLoc::get(ctx, "<command line>", 1, 1);
}

/// Runs a pass pipeline on `module` (dumps under `printing`'s folder
/// `subdir`); returns an exit code. `directives` locate the pipeline's
/// rewrites for the warning about one that matches nothing (none: the
/// default heuristic's rewrites, which need not match).
int runRewrites(Session &s, ModuleOp module, const CliOptions &o,
                ArrayRef<std::string> passes, StringRef subdir,
                std::optional<std::vector<std::pair<Location, std::string>>>
                    directives = std::nullopt) {
  if (passes.empty())
    return kExitOk;
  PassManager pm(&s.ctx);
  if (directives)
    pm.addInstrumentation(std::make_unique<UnmatchedRewriteWarnings>(
        *directives, commandLineLoc(&s.ctx)));
  IRPrinting printing = o.printing; // rewrites dump on their own
  if (!printing.dumpDir.empty())
    printing.dumpDir += "/" + subdir.str();
  configureIRPrinting(pm, printing);
  if (failed(parsePassPipeline(llvm::join(passes, ","), pm)) ||
      failed(pm.run(module)))
    return kExitError;
  return kExitOk;
}

/// The default heuristic's rewrites, for a model lowered without a
/// schedule and without `--passes`: every softmax-normalized contraction
/// becomes the 1-pass cascade with key tiles of 128, halved down to 32 until
/// they divide the keys (FlashAttention's loop: on CPUs it beats the 3-pass
/// form from 128 keys on, and keeps the scores to one tile; 128 was 2-3%
/// faster than 64 at seq 512, 256 slower). A schedule with any directive, or
/// `--passes`, takes the choice over, as does `--default-rewrites=false`.
int applyDefaultRewrites(Session &s, ModuleOp module, const CliOptions &o) {
  func::FuncOp f = getModelFunction(module);
  if (!o.defaultRewrites || !o.passes.empty() || !f ||
      f->hasAttr("cascade.schedule"))
    return kExitOk;
  return runRewrites(s, module, o,
                     {"cascade-one-pass{tile=" +
                      std::to_string(kDefaultOnePassTile) + " fit-tile=true}"},
                     "default");
}

/// Runs the rewrites a schedule asks for (`rewrite defer_division`,
/// `rewrite one_pass(M) tile T`); returns an exit code.
int applyScheduleRewrites(Session &s, ModuleOp module, const CliOptions &o) {
  func::FuncOp f = getModelFunction(module);
  auto schedule =
      f ? f->getAttrOfType<ArrayAttr>("cascade.schedule") : ArrayAttr();
  if (!schedule)
    return kExitOk;
  std::vector<std::string> passes;
  std::vector<std::pair<Location, std::string>> directives;
  for (auto d : schedule.getAsRange<DictionaryAttr>()) {
    if (d.getAs<StringAttr>("kind").getValue() != "rewrite")
      continue;
    auto names = d.getAs<ArrayAttr>("names").getAsValueRange<StringAttr>();
    std::vector<std::string> args(names.begin(), names.end());
    auto numbers = d.getAs<ArrayAttr>("numbers");
    auto loc = d.getAs<LocationAttr>("loc");
    if (args[0] == "defer_division") {
      passes.push_back("cascade-defer-division");
      directives.push_back(
          {loc ? Location(loc) : f.getLoc(), "rewrite defer_division"});
    } else {
      passes.push_back(
          "cascade-one-pass{rank=" + args[1] + " tile=" +
          std::to_string(
              numbers.empty() ? 32 : cast<IntegerAttr>(numbers[0]).getInt()) +
          "}");
      directives.push_back({loc ? Location(loc) : f.getLoc(),
                            "rewrite one_pass(" + args[1] + ")"});
    }
  }
  // The rewrites are done: what stays recorded are the loop directives.
  SmallVector<Attribute> rest;
  for (auto d : schedule.getAsRange<DictionaryAttr>())
    if (d.getAs<StringAttr>("kind").getValue() != "rewrite")
      rest.push_back(d);
  f->setAttr("cascade.schedule", ArrayAttr::get(&s.ctx, rest));
  return runRewrites(s, module, o, passes, "schedule", directives);
}

/// Runs `--passes`; returns an exit code (kExitOk when there is none).
int runPassPipeline(Session &s, ModuleOp module, const CliOptions &o) {
  if (o.passes.empty())
    return kExitOk;
  PassManager pm(&s.ctx);
  pm.addInstrumentation(std::make_unique<UnmatchedRewriteWarnings>(
      std::vector<std::pair<Location, std::string>>{}, commandLineLoc(&s.ctx)));
  IRPrinting printing = o.printing; // `--passes` dumps go to their own folder
  if (!printing.dumpDir.empty())
    printing.dumpDir += "/passes";
  configureIRPrinting(pm, printing);
  std::string err;
  llvm::raw_string_ostream errs(err);
  if (failed(parsePassPipeline(o.passes, pm, errs))) {
    llvm::errs() << "error: bad --passes: " << err << "\n";
    return kExitUsage;
  }
  return succeeded(pm.run(module)) ? kExitOk : kExitError;
}

void registerPassesOnce() {
  static bool done = [] {
    registerAllPasses();
    registerCascadePasses();
    return true;
  }();
  (void)done;
}

/// Schedule precedence (LANGUAGE.md section 6): `--schedule`, the model's
/// own block, then the tuning database's best schedule for this cascade on
/// this device, then the default heuristic. Reloads `module` with the
/// database's schedule when one applies; a record for another device is
/// never applied, and says so.
int applyTuningDb(Session &s, const CliOptions &o,
                  OwningOpRef<ModuleOp> &module) {
  func::FuncOp f = getModelFunction(*module);
  if (o.noTuningDb || !o.schedule.empty() || !o.passes.empty() || !f ||
      f->hasAttr("cascade.schedule"))
    return kExitOk;
  std::string path = o.db.empty() ? TuningDb::defaultPath() : o.db;
  if (!llvm::sys::fs::exists(path))
    return kExitOk;
  std::string error;
  std::optional<TuningDb> db = TuningDb::open(path, error);
  if (!db) {
    llvm::errs() << "warning: tuning database " << error << " (not used)\n";
    return kExitOk;
  }
  FailureOr<CpuMachine> machine = resolveCpuMachine(*module, o.target);
  if (failed(machine))
    return kExitError;
  TuningKey key{cascadeKey(*module), machine->arch, deviceFingerprint(*machine),
                CASCADE_VERSION};
  std::optional<TuningRecord> best = db->best(key);
  if (!best) {
    std::vector<std::string> stale = db->otherCompilers(key);
    if (!stale.empty()) {
      llvm::errs() << "note: " << path << " has a schedule for this model "
                   << "tuned on this device with another version of Cascade ("
                   << stale.front()
                   << "): it is stale and not applied; re-tune with "
                      "'cascade tune'\n";
      return kExitOk;
    }
    std::vector<std::string> others = db->otherDevices(key);
    if (!others.empty())
      llvm::errs() << "note: " << path << " has a schedule for this model "
                   << "tuned on another device (" << others.front()
                   << "); it is not applied here: run 'cascade tune' on "
                      "this machine\n";
    return kExitOk;
  }
  if (best->schedule.empty())
    return kExitOk; // the default heuristic won
  llvm::errs() << "note: using the schedule tuned for this device from " << path
               << " (--no-tuning-db to ignore it)\n";
  module = s.load(o.model, "", o.overrides,
                  "schedule {\n" + best->schedule + "}\n", o.inputs);
  if (!module || s.errors)
    return kExitError;
  return kExitOk;
}

/// Whether `path` can be the folder a command writes into: missing (it is
/// created) or a directory. Checked before any work, so that a bad `-o` or
/// `--output-dir` is reported at once, not after compiling and running.
bool usableOutputDir(const std::string &path, llvm::StringRef flag) {
  if (path.empty() || !llvm::sys::fs::exists(path) ||
      llvm::sys::fs::is_directory(path))
    return true;
  llvm::errs() << path << ": error: " << flag
               << " names an existing file; it needs a folder (missing "
                  "folders are created)\n";
  return false;
}

/// Whether `path` can be the file `opt -o` writes: not a directory.
bool usableOutputFile(const std::string &path) {
  if (path.empty() || path == "-" || !llvm::sys::fs::is_directory(path))
    return true;
  llvm::errs() << path << ": error: -o names a folder; opt writes one file\n";
  return false;
}

/// The start shared by the commands that transform a model: check the
/// target, load the model (with its schedule), keep a copy of it as written
/// in `original` when asked, then apply the schedule's rewrites and
/// `--passes`. Returns an exit code; `module` is set when it is kExitOk.
int prepareModel(Session &s, const CliOptions &o, OwningOpRef<ModuleOp> &module,
                 OwningOpRef<ModuleOp> *original = nullptr,
                 bool lowering = false,
                 const TargetBackend **backend = nullptr) {
  std::string error;
  const TargetBackend *target = lookupTargetBackend(o.target, error);
  if (!target) {
    llvm::errs() << "error: " << error << "\n";
    return kExitUsage;
  }
  if (backend)
    *backend = target;
  module = s.load(o.model, o.schedule, o.overrides, "", o.inputs);
  if (!module || s.errors)
    return kExitError;
  if (lowering && target->usesTuningDb() &&
      (o.command == "compile" || o.command == "run"))
    if (int rc = applyTuningDb(s, o, module))
      return rc;
  if (original)
    *original = module->clone();
  if (lowering)
    if (int rc = applyDefaultRewrites(s, *module, o))
      return rc;
  if (int rc = applyScheduleRewrites(s, *module, o))
    return rc;
  return runPassPipeline(s, *module, o);
}

} // namespace

int prepareForTuning(Session &s, const CliOptions &o,
                     OwningOpRef<ModuleOp> &module) {
  registerPassesOnce();
  return prepareModel(s, o, module, nullptr, /*lowering=*/true);
}

int runCheck(const CliOptions &o) {
  Session s(o.strict);
  OwningOpRef<ModuleOp> module = s.load(o.model, o.schedule, o.overrides);
  if (!module || s.errors)
    return kExitError;
  func::FuncOp f = getModelFunction(*module);
  unsigned equations = 0;
  f.walk([&](EinsumOp) { ++equations; });
  llvm::outs() << "ok: model '" << f.getSymName() << "': " << equations
               << " equations, " << f.getNumArguments() << " inputs/weights, "
               << f.getNumResults() << " outputs\n";
  return kExitOk;
}

int runOpt(const CliOptions &o) {
  registerPassesOnce();
  Session s(o.strict);
  OwningOpRef<ModuleOp> module;
  std::string emit = o.emit.empty() ? "mlir" : o.emit;
  if (!usableOutputFile(o.output))
    return kExitError;
  static const char *kinds[] = {"ein", "mlir", "loops", "llvm",
                                "asm", "gpu",  "ptx",   "wgsl"};
  if (!llvm::is_contained(kinds, emit)) {
    llvm::errs()
        << "error: unknown --emit=" << emit
        << " (expected ein, mlir, loops, llvm, asm, gpu, ptx or wgsl)\n";
    return kExitUsage;
  }
  const TargetBackend *backend = nullptr;
  if (int rc =
          prepareModel(s, o, module, nullptr,
                       /*lowering=*/emit != "ein" && emit != "mlir", &backend))
    return rc;
  std::string text;
  llvm::raw_string_ostream os(text);
  if (emit == "ein") {
    if (failed(printAsEin(*module, os)))
      return kExitError;
  } else if (emit == "mlir") {
    module->print(os);
  } else if (int rc = backend->emit(*module, o, emit, text)) {
    return rc;
  }
  if (o.output.empty() || o.output == "-") {
    llvm::outs() << text;
    return kExitOk;
  }
  return writeFile(o.output, text) ? kExitOk : kExitError;
}

int runAnalyze(const CliOptions &o) {
  registerPassesOnce();
  Session s(o.strict);
  OwningOpRef<ModuleOp> module;
  const TargetBackend *backend = nullptr;
  if (int rc = prepareModel(s, o, module, nullptr, false, &backend))
    return rc;
  func::FuncOp f = getModelFunction(*module);
  if (llvm::any_of(f.getArgumentTypes(),
                   [](Type t) { return !isa<RankedTensorType>(t); })) {
    emitError(f.getLoc(), "analyze needs the cascade level (tensors)");
    return kExitError;
  }
  // The strategy as compiling for the target would choose it: on a copy,
  // after the default heuristic's rewrites.
  OwningOpRef<ModuleOp> strategy = module->clone();
  if (int rc = applyDefaultRewrites(s, *strategy, o))
    return rc;
  if (int rc = backend->chooseStrategy(*strategy, o))
    return rc;
  CascadeAnalysis a = analyzeCascade(f);
  int64_t flops = 0, bytes = 0;
  for (const EquationCost &e : a.equations) {
    flops += e.flops;
    bytes += e.bytes;
  }
  auto intensity = [](int64_t fl, int64_t by) {
    return by ? (double)fl / (double)by : 0.0;
  };
  if (o.json) {
    llvm::json::Object passes;
    for (auto &[rank, n] : a.passes)
      passes[rank] = n;
    // No fusion yet: every equation is its own kernel.
    llvm::json::Array equations, kernels;
    for (const EquationCost &e : a.equations) {
      equations.push_back(
          llvm::json::Object{{"name", e.name},
                             {"points", e.points},
                             {"flops", e.flops},
                             {"bytes", e.bytes},
                             {"intensity", intensity(e.flops, e.bytes)}});
      kernels.push_back(
          llvm::json::Object{{"name", e.name},
                             {"equations", llvm::json::Array{e.name}},
                             {"flops", e.flops},
                             {"bytes", e.bytes},
                             {"intensity", intensity(e.flops, e.bytes)}});
    }
    llvm::json::Object root{{"model", f.getSymName().str()},
                            {"passes", std::move(passes)},
                            {"equations", std::move(equations)},
                            {"kernels", std::move(kernels)},
                            {"strategy", strategyJson(*strategy)},
                            {"flops", flops},
                            {"bytes", bytes}};
    llvm::outs() << llvm::formatv("{0:2}", llvm::json::Value(std::move(root)))
                 << "\n";
    return kExitOk;
  }
  llvm::outs() << "model " << f.getSymName() << "\n\npasses per rank:\n";
  for (auto &[rank, n] : a.passes)
    llvm::outs() << llvm::formatv("  {0,-8} {1}\n", rank, n);
  llvm::outs() << llvm::formatv("\n  {0,-20} {1,14} {2,14} {3,10}\n",
                                "equation", "flops", "bytes", "flop/byte");
  for (const EquationCost &e : a.equations)
    llvm::outs() << llvm::formatv("  {0,-20} {1,14} {2,14} {3,10:f2}\n", e.name,
                                  e.flops, e.bytes,
                                  intensity(e.flops, e.bytes));
  llvm::outs() << llvm::formatv("  {0,-20} {1,14} {2,14} {3,10:f2}\n", "total",
                                flops, bytes, intensity(flops, bytes));
  llvm::outs() << "\nstrategy (target " << backend->name()
               << ", as compiled):\n"
               << llvm::formatv("  {0,-20} {1,-18} {2}\n", "equation",
                                "execution", "details");
  printStrategy(*strategy, llvm::outs());
  return kExitOk;
}

int runImport(const CliOptions &o) {
  if (o.output.empty()) {
    llvm::errs() << "error: import needs -o DIR\n";
    return kExitUsage;
  }
  if (!StringRef(o.model).ends_with(".onnx")) {
    llvm::errs() << o.model << ": error: import takes an ONNX model (.onnx)\n";
    return kExitUsage;
  }
  if (!usableOutputDir(o.output, "-o"))
    return kExitError;
  // The import is checked as a model before anything is written.
  Session s(o.strict);
  OwningOpRef<ModuleOp> module = s.load(o.model, "", o.overrides);
  if (!module || s.errors)
    return kExitError;
  const ImportedModel &m = *s.imported;
  if (std::error_code ec = llvm::sys::fs::create_directories(o.output)) {
    llvm::errs() << o.output
                 << ": error: cannot create the folder: " << ec.message()
                 << "\n";
    return kExitError;
  }
  std::vector<std::pair<std::string, std::string>> files = {
      {m.name + ".ein", m.ein}};
  if (!m.safetensors.empty())
    files.push_back({m.weightsFile, m.safetensors});
  // Each file is written beside its final name and renamed over it, so a
  // failed import leaves what was there.
  for (auto &[name, data] : files) {
    std::string path = (llvm::Twine(o.output) + "/" + name).str();
    if (!writeFile(path + ".tmp", data) ||
        llvm::sys::fs::rename(path + ".tmp", path)) {
      llvm::sys::fs::remove(path + ".tmp");
      llvm::errs() << path << ": error: cannot write\n";
      return kExitError;
    }
    llvm::outs() << "wrote " << path << "\n";
  }
  return kExitOk;
}

int runCompile(const CliOptions &o) {
  registerPassesOnce();
  Session s(o.strict);
  if (o.output.empty()) {
    llvm::errs() << "error: compile needs -o DIR\n";
    return kExitUsage;
  }
  if (!o.emit.empty() && o.emit != "exe" && o.emit != "lib") {
    llvm::errs() << "error: unknown --emit=" << o.emit
                 << " for compile (expected lib or exe)\n";
    return kExitUsage;
  }
  if (!usableOutputDir(o.output, "-o"))
    return kExitError;
  OwningOpRef<ModuleOp> module;
  const TargetBackend *backend = nullptr;
  if (int rc = prepareModel(s, o, module, nullptr, /*lowering=*/true, &backend))
    return rc;
  if (int rc = backend->compile(*module, o))
    return rc;
  // An imported model's weights go beside the artifact, where its manifest
  // names them.
  if (s.imported && !s.imported->safetensors.empty()) {
    std::string path = o.output + "/" + s.imported->weightsFile;
    if (!writeFile(path, s.imported->safetensors))
      return kExitError;
    llvm::outs() << "wrote " << path << "\n";
  }
  return kExitOk;
}

namespace {

/// Norm-wise relative error of LANGUAGE.md section 8; +inf when `out` has a
/// non-finite value where the reference is finite (or differs from a
/// non-finite reference).
double relativeError(const TensorData &out, const RefTensor &ref) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    double r = ref.data[i], x = out[i];
    if (!std::isfinite(r)) {
      bool same = std::isnan(r) ? std::isnan(x) : x == r;
      if (!same)
        return INFINITY;
      continue;
    }
    if (!std::isfinite(x))
      return INFINITY;
    diff += (x - r) * (x - r);
    norm += r * r;
  }
  if (norm == 0)
    return std::sqrt(diff); // all-zero reference: the absolute error
  return std::sqrt(diff / norm);
}

/// Refuses, with a message, models whose tensors (plus the kernels' scratch,
/// plus the interpreter's float64 copies with --check) would not fit in this
/// machine's memory, instead of failing an allocation mid-run.
bool fitsInMemory(func::FuncOp f, int64_t scratch, func::FuncOp reference) {
  bool check = (bool)reference;
  auto bytesOf = [](Type t) -> double {
    return (double)cast<RankedTensorType>(t).getNumElements() * 4;
  };
  double bytes = (double)scratch;
  for (Type t : f.getArgumentTypes())
    bytes += bytesOf(t);
  for (Type t : f.getResultTypes())
    bytes += bytesOf(t);
  if (reference)
    reference.walk([&](EinsumOp op) { bytes += 2 * bytesOf(op.getType()); });
  double physical =
      (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  if (bytes <= physical)
    return true;
  llvm::errs() << "error: model '" << f.getSymName() << "' needs about "
               << llvm::formatv("{0:f1}", bytes / (1 << 30))
               << " GiB for its tensors"
               << (check ? " and the reference check" : "")
               << ", more than this machine's "
               << llvm::formatv("{0:f1}", physical / (1 << 30)) << " GiB\n";
  return false;
}

} // namespace

int runRun(const CliOptions &o) {
  registerPassesOnce();
  Session s(o.strict);
  // --check compares with the model as written, before the schedule's
  // rewrites and --passes: the reference for the rewrites too.
  OwningOpRef<ModuleOp> module, original;
  if (!usableOutputDir(o.outputDir, "--output-dir"))
    return kExitError;
  const TargetBackend *backend = nullptr;
  if (int rc =
          prepareModel(s, o, module, &original, /*lowering=*/true, &backend))
    return rc;
  func::FuncOp f = getModelFunction(*module);
  std::unique_ptr<CompiledModel> compiled;
  if (int rc = backend->prepareRun(*module, o, compiled))
    return rc;
  int64_t scratch = compiled->scratchBytes();
  if (!fitsInMemory(f, scratch,
                    o.check ? getModelFunction(*original) : func::FuncOp()))
    return kExitError;
  std::vector<HostTensor> args;
  std::vector<std::string> generated;
  WeightFiles weightFiles{o.weights, s.weightsDir(o.model)};
  // An imported model's inputs folded at import were given already; those
  // the graph never reads are not inputs of the cascade.
  std::vector<std::string> inputFlags;
  for (const std::string &flag : o.inputs) {
    std::string name = flag.substr(0, flag.find('='));
    if (!s.imported || (!llvm::is_contained(s.imported->folded, name) &&
                        !llvm::is_contained(s.imported->unused, name)))
      inputFlags.push_back(flag);
  }
  if (int rc = prepareArguments(f, inputFlags, o.randomInputs, o.seed,
                                weightFiles, args, generated))
    return rc;
  if (s.errors) // a warning about the weights, under --strict
    return kExitError;
  std::vector<HostTensor> outputs;
  for (unsigned i = 0; i < f.getNumResults(); ++i) {
    HostTensor t;
    nameTensor(f, i, /*result=*/true, t);
    t.role = "output";
    t.data.assign(
        cast<RankedTensorType>(f.getResultTypes()[i]).getNumElements(), 0.0f);
    outputs.push_back(std::move(t));
  }
  // Fault injection for the tuner's tests (docs/tuning.md): a candidate
  // that crashes, hangs, or computes a wrong answer.
  const char *fault = std::getenv("CASCADE_TUNE_FAULT");
  if (fault && !std::strcmp(fault, "crash"))
    std::raise(SIGSEGV);
  if (fault && !std::strcmp(fault, "hang"))
    for (;;)
      pause();
  double medianMs = -1;
  int execRc = compiled->execute(args, outputs, o.bench, medianMs);
  if (execRc != kExitOk)
    return execRc;
  if (fault && !std::strcmp(fault, "wrong"))
    for (HostTensor &t : outputs)
      for (float &v : t.data)
        v = v * 2 + 1;

  if (!o.outputDir.empty()) {
    for (const HostTensor &t : args)
      if (llvm::is_contained(generated, t.name) && !writeTensor(o.outputDir, t))
        return kExitError;
    for (const HostTensor &t : outputs) {
      if (!writeTensor(o.outputDir, t))
        return kExitError;
      llvm::outs() << "wrote " << o.outputDir << "/"
                   << (t.file.empty() ? t.name : t.file) << ".npy\n";
    }
  }

  int rc = kExitOk;
  if (o.check) {
    std::vector<RefTensor> refArgs;
    for (const HostTensor &t : args)
      refArgs.push_back(
          {t.shape, std::vector<double>(t.data.begin(), t.data.end())});
    std::string err;
    auto refs = interpret(getModelFunction(*original), refArgs, err);
    if (failed(refs)) {
      llvm::errs() << "error: reference interpreter: " << err << "\n";
      return kExitError;
    }
    double tolerance = compiled->tolerance();
    double worst = 0;
    for (size_t i = 0; i < outputs.size(); ++i) {
      double e = relativeError(outputs[i].data, (*refs)[i]);
      if (e > tolerance || std::isnan(e))
        llvm::errs() << "error: output '" << outputs[i].userName()
                     << "' differs from the reference: relative error " << e
                     << " (tolerance " << tolerance << ")\n";
      worst = std::max(worst, std::isnan(e) ? INFINITY : e);
    }
    llvm::outs() << "max_rel_err=" << llvm::formatv("{0:e3}", worst) << "\n";
    if (!(worst <= tolerance))
      rc = kExitError;
  }
  if (o.bench > 0) {
    llvm::outs() << "median_ms=" << llvm::formatv("{0:f4}", medianMs) << "\n";
    llvm::outs() << "scratch_bytes=" << scratch << "\n";
  }
  llvm::outs() << compiled->profile;
  return rc;
}

} // namespace cascade
