//===- cascade.cpp - The cascade command-line driver
//-----------------------===//
//
// cascade check | opt | analyze | compile | run | tune MODEL [options]
// (the CLI contract of ARCHITECTURE.md). Exit codes: 0 success, 1 a
// diagnostic or failed check, 2 a bad command line, 77 target unavailable.
//
//===----------------------------------------------------------------------===//
#include "cascade/runtime.h"
#include "compiler/Driver/Commands.h"
#include "compiler/Target/Target.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace cascade;

static cl::OptionCategory category("cascade options");

static cl::list<std::string>
    positional(cl::Positional, cl::desc("COMMAND MODEL"), cl::cat(category));
static cl::opt<std::string>
    target("target",
           cl::desc("host (default), x86_64, aarch64, cuda or webgpu"),
           cl::init("host"), cl::cat(category));
static cl::opt<std::string>
    cpu("cpu", cl::desc("CPU model (default: the host's)"), cl::cat(category));
static cl::opt<std::string>
    features("features", cl::desc("CPU features, e.g. +avx2,-avx512f"),
             cl::cat(category));
static cl::opt<std::string> l2Cache(
    "l2-cache",
    cl::desc("CPU targets: L2 cache of one core, e.g. 2M or 1280K (default: "
             "the host's when compiling for it, else 1M)"),
    cl::cat(category));
static cl::opt<std::string>
    arch("arch", cl::desc("GPU architecture (sm_80|sm_90)"), cl::cat(category));
static cl::opt<bool> gpuLoops(
    "gpu-loops",
    cl::desc("CPU targets: run the CUDA target's loop nests (one parallel "
             "loop per kernel) on this CPU, to test that mapping"),
    cl::cat(category));
static cl::opt<std::string> emit(
    "emit",
    cl::desc("opt: ein|mlir|loops|llvm|asm|gpu|ptx|wgsl; compile: lib|exe"),
    cl::cat(category));
static cl::opt<std::string>
    passes("passes", cl::desc("Pass pipeline to run first (comma-separated)"),
           cl::cat(category));
static cl::opt<std::string>
    output("o", cl::desc("Output file (opt) or folder (compile)"),
           cl::cat(category));
static cl::opt<bool> printAfterAll("print-ir-after-all",
                                   cl::desc("Print the IR after every stage"),
                                   cl::cat(category));
static cl::opt<bool>
    printAfterChange("print-ir-after-change",
                     cl::desc("Print the IR after every stage that changed it"),
                     cl::cat(category));
static cl::opt<std::string>
    dumpDir("dump-dir", cl::desc("Write the IR after every stage to DIR"),
            cl::cat(category));
static cl::list<std::string> inputs("input", cl::desc("NAME=FILE.npy (run)"),
                                    cl::cat(category));
static cl::opt<std::string> weights("weights",
                                    cl::desc("Weights file (safetensors)"),
                                    cl::cat(category));
static cl::opt<bool>
    randomInputs("random-inputs",
                 cl::desc("Draw every input and weight not given from N(0,1)"),
                 cl::cat(category));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed of --random-inputs"),
                              cl::init(0), cl::cat(category));
static cl::opt<std::string> outputDir("output-dir",
                                      cl::desc("Folder for outputs (run)"),
                                      cl::cat(category));
static cl::opt<bool>
    check("check", cl::desc("Compare with the float64 reference interpreter"),
          cl::cat(category));
static cl::opt<unsigned> bench("bench", cl::desc("Time N runs after a warm-up"),
                               cl::init(0), cl::cat(category));
static cl::opt<bool>
    profile("profile",
            cl::desc("CPU targets: time each step of the model (run: print "
                     "the time per step over the --bench runs, 10 without "
                     "--bench; compile: the executable's --profile)"),
            cl::cat(category));
static cl::opt<std::string> schedule("schedule", cl::desc("Schedule file"),
                                     cl::cat(category));
static cl::opt<std::string> db("db", cl::desc("Tuning database"),
                               cl::cat(category));
static cl::opt<bool> noTuningDb("no-tuning-db",
                                cl::desc("Do not read the tuning database"),
                                cl::cat(category));
static cl::opt<std::string> budget("budget",
                                   cl::desc("tune: time budget, e.g. 60s, 10m"),
                                   cl::cat(category));
static cl::opt<unsigned> trials("trials", cl::desc("tune: number of trials"),
                                cl::init(0), cl::cat(category));
static cl::opt<std::string>
    exportDb("export", cl::desc("tune: write the database as JSON lines"),
             cl::value_desc("FILE"), cl::cat(category));
static cl::opt<std::string> importDb("import",
                                     cl::desc("tune: add JSON-lines records"),
                                     cl::value_desc("FILE"), cl::cat(category));
static cl::opt<unsigned>
    tuneTimeout("tune-timeout",
                cl::desc("tune: seconds a candidate may run before it is "
                         "killed (default: 50x the default schedule's time, "
                         "at least 60)"),
                cl::init(0), cl::cat(category));
static cl::opt<std::string>
    tuneFault("tune-fault", cl::Hidden,
              cl::desc("tune: inject faults into trials (tests): "
                       "crash@N,hang@N,wrong@N"),
              cl::cat(category));
static cl::opt<bool> defaultRewrites(
    "default-rewrites",
    cl::desc("Without a schedule or --passes, lower softmax attention in the "
             "1-pass form (=false: the cascade as written)"),
    cl::init(true), cl::cat(category));
static cl::list<std::string>
    sets("set",
         cl::desc("Replace a rank extent or constant of the model, e.g. "
                  "--set P=512 (repeatable)"),
         cl::value_desc("NAME=VALUE"), cl::cat(category));
static cl::opt<bool> json("json", cl::desc("Machine-readable output (analyze)"),
                          cl::cat(category));
static cl::opt<bool>
    strict("strict",
           cl::desc("Treat warnings about the model (a weight re-viewed "
                    "against its stored layout, a silent broadcast, a "
                    "rewrite that matches nothing, ...) as errors"),
           cl::cat(category));

static const char *kOverview =
    "Cascade: a compiler for cascades of Einsums\n\n"
    "  cascade check   MODEL.ein\n"
    "  cascade opt     MODEL.ein [--passes=a,b] "
    "[--emit=ein|mlir|loops|llvm|asm|gpu|ptx|wgsl]\n"
    "  cascade analyze MODEL.ein [--json]\n"
    "  cascade compile MODEL.ein [--target=T] -o DIR [--emit=lib|exe]\n"
    "  cascade run     MODEL.ein [--target=T] [--input NAME=FILE.npy ...]\n"
    "                  [--random-inputs --seed=S] [--output-dir DIR] [--check] "
    "[--bench=N] [--profile]\n"
    "  cascade tune    MODEL.ein [--target=T] [--budget=60s | --trials=N] "
    "[--db=FILE]\n"
    "  cascade tune    --export=FILE.jsonl | --import=FILE.jsonl [--db=FILE]\n"
    "\n"
    "  --target defaults to host. 'cascade COMMAND --help' lists the options "
    "of one command.\n";

/// A subcommand's usage line and the options it reads (`cascade COMMAND
/// --help` shows only those).
struct CommandHelp {
  const char *name;
  const char *usage;
  std::vector<const char *> options;
};

static const std::vector<CommandHelp> &commandHelp() {
  static const std::vector<const char *> target = {
      "target", "cpu", "features", "l2-cache", "arch", "gpu-loops"};
  static const std::vector<const char *> printing = {
      "print-ir-after-all", "print-ir-after-change", "dump-dir"};
  auto join = [](std::initializer_list<std::vector<const char *>> parts) {
    std::vector<const char *> all;
    for (const auto &p : parts)
      all.insert(all.end(), p.begin(), p.end());
    return all;
  };
  static const std::vector<CommandHelp> commands = {
      {"check",
       "cascade check MODEL.ein [options]\n\nParses and verifies the model "
       "(and its schedule); prints a summary or located diagnostics.\n",
       {"schedule", "set", "strict"}},
      {"opt",
       "cascade opt MODEL.ein [options]\n\nRuns the rewrites (the "
       "schedule's, --passes) and prints the model at a stage: --emit=ein, "
       "mlir (default), loops, llvm, asm (CPU targets), gpu, ptx (cuda), "
       "wgsl (webgpu).\n",
       join({{"emit", "passes", "o", "schedule", "set", "default-rewrites",
              "strict"},
             target,
             printing})},
      {"analyze",
       "cascade analyze MODEL.ein [options]\n\nPrints FuseMax's passes per "
       "rank, each equation's FLOPs, bytes and intensity, and the strategy: "
       "how each equation executes when compiled for the target.\n",
       join(
           {{"json", "passes", "schedule", "set", "default-rewrites", "strict"},
            target,
            printing})},
      {"compile",
       "cascade compile MODEL.ein -o DIR [options]\n\nCompiles the model "
       "into DIR: a shared library, object, header and manifest "
       "(--emit=lib, the default) and a standalone executable (--emit=exe); "
       "PTX for cuda, WGSL for webgpu.\n",
       join({{"o", "emit", "passes", "schedule", "db", "no-tuning-db",
              "default-rewrites", "set", "strict", "profile"},
             target,
             printing})},
      {"run",
       "cascade run MODEL.ein [options]\n\nCompiles and runs the model on "
       ".npy inputs, writes the outputs as DIR/NAME.npy, and checks them "
       "against the float64 reference (--check).\n",
       join({{"input", "weights", "random-inputs", "seed", "output-dir",
              "check", "bench", "profile", "passes", "schedule", "db",
              "no-tuning-db", "default-rewrites", "set", "strict"},
             target,
             printing})},
      {"import",
       "cascade import MODEL.onnx -o DIR [options]\n\nImports an ONNX "
       "model: writes DIR/NAME.ein (the cascade, readable and editable) and "
       "DIR/NAME.safetensors (its initializers). Every other command also "
       "takes a .onnx file and imports it in memory.\n",
       {"o", "set", "strict"}},
      {"tune",
       "cascade tune MODEL.ein [options]\n"
       "cascade tune --export=FILE.jsonl | --import=FILE.jsonl [--db=FILE]\n"
       "\nSearches schedules for the model on this device and records the "
       "best in the tuning database (default budget 60s).\n",
       join({{"budget", "trials", "db", "export", "import", "tune-timeout",
              "set", "strict"},
             target})},
  };
  return commands;
}

/// With `cascade COMMAND ... --help`: the command's usage as the overview,
/// and every option it does not read hidden. Null for the global help.
static const char *prepareCommandHelp(int argc, char **argv) {
  const CommandHelp *command = nullptr;
  bool help = false;
  for (int i = 1; i < argc; ++i) {
    StringRef a = argv[i];
    if (a == "--help" || a == "-help" || a == "-h")
      help = true;
    else if (!command && !a.starts_with("-"))
      for (const CommandHelp &c : commandHelp())
        if (a == c.name)
          command = &c;
  }
  if (!help || !command)
    return nullptr;
  for (auto &entry : cl::getRegisteredOptions()) {
    cl::Option *opt = entry.second;
    if (!llvm::is_contained(opt->Categories, &category))
      continue;
    if (!llvm::any_of(command->options,
                      [&](const char *n) { return entry.first == n; }))
      opt->setHiddenFlag(cl::ReallyHidden);
  }
  return command->usage;
}

/// Parses a duration: a positive number of seconds, or with a unit (ms, s,
/// m, h).
static bool parseDuration(StringRef text, double &seconds) {
  StringRef b = text.trim();
  double scale = 1;
  if (b.consume_back("ms"))
    scale = 1e-3;
  else if (b.consume_back("s"))
    scale = 1;
  else if (b.consume_back("m"))
    scale = 60;
  else if (b.consume_back("h"))
    scale = 3600;
  double v;
  if (b.getAsDouble(v) || !(v > 0))
    return false;
  seconds = v * scale;
  return true;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "cascade " << CASCADE_VERSION << " (LLVM/MLIR " << LLVM_VERSION_STRING
       << ")\n";
  });
  cl::HideUnrelatedOptions(category);
  const char *overview = prepareCommandHelp(argc, argv);
  std::string errors;
  raw_string_ostream errs(errors);
  if (!cl::ParseCommandLineOptions(argc, argv, overview ? overview : kOverview,
                                   &errs)) {
    llvm::errs() << errors;
    return kExitUsage;
  }
  // `run --bench` calls the model repeatedly: keep its scratch buffers.
  cascade_reuse_scratch_memory();
  bool dbOnly = positional.size() == 1 && positional[0] == "tune" &&
                (!exportDb.empty() || !importDb.empty());
  if (positional.size() != 2 && !dbOnly) {
    llvm::errs() << "error: expected a command and a model file (see "
                    "--help)\n";
    return kExitUsage;
  }
  CliOptions o;
  o.command = positional[0];
  o.model = dbOnly ? "" : positional[1];
  o.db = db;
  o.noTuningDb = noTuningDb;
  o.tuneTrials = trials;
  o.tuneExport = exportDb;
  o.tuneImport = importDb;
  o.tuneFault = tuneFault;
  o.tuneTimeout = tuneTimeout;
  if (!budget.empty() && !parseDuration(budget, o.tuneBudget)) {
    llvm::errs() << "error: --budget needs a duration such as 60s or 10m, "
                    "got '"
                 << budget << "'\n";
    return kExitUsage;
  }
  o.target = {target, cpu, features, arch, gpuLoops};
  o.target.profile = profile;
  if (profile && o.command != "run" && o.command != "compile") {
    llvm::errs() << "error: --profile applies to run and compile\n";
    return kExitUsage;
  }
  if (!l2Cache.empty()) {
    std::optional<int64_t> bytes = parseByteSize(l2Cache);
    if (!bytes) {
      llvm::errs() << "error: --l2-cache needs a size such as 2M, 1280K or "
                      "1048576, got '"
                   << l2Cache << "'\n";
      return kExitUsage;
    }
    o.target.l2Bytes = *bytes;
  }
  o.printing = {printAfterAll, printAfterChange, dumpDir};
  o.emit = emit;
  o.passes = passes;
  o.output = output;
  o.outputDir = outputDir;
  o.weights = weights;
  o.schedule = schedule;
  o.inputs = inputs;
  for (const std::string &s : sets) {
    auto [name, value] = StringRef(s).split('=');
    double v;
    if (name.empty() || value.empty() || value.trim().getAsDouble(v)) {
      llvm::errs() << "error: --set needs NAME=NUMBER, got '" << s << "'\n";
      return kExitUsage;
    }
    o.overrides[name.str()] = v;
  }
  o.randomInputs = randomInputs;
  o.defaultRewrites = defaultRewrites;
  o.check = check;
  o.strict = strict;
  o.json = ::json;
  o.seed = seed;
  o.bench = bench;
  if (o.command == "check")
    return runCheck(o);
  if (o.command == "opt")
    return runOpt(o);
  if (o.command == "compile")
    return runCompile(o);
  if (o.command == "run")
    return runRun(o);
  if (o.command == "analyze")
    return runAnalyze(o);
  if (o.command == "import")
    return runImport(o);
  if (o.command == "tune") {
    if (o.tuneBudget == 0 && o.tuneTrials == 0 && !dbOnly)
      o.tuneBudget = 60; // the default budget
    return runTune(o);
  }
  llvm::errs()
      << "error: unknown command '" << o.command
      << "' (expected check, opt, analyze, compile, run, tune or import)\n";
  return kExitUsage;
}
