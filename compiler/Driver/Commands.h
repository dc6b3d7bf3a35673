//===- Commands.h - The subcommands of the cascade CLI ----------*- C++ -*-===//
#ifndef CASCADE_COMPILER_DRIVER_COMMANDS_H
#define CASCADE_COMPILER_DRIVER_COMMANDS_H

#include "compiler/Frontend/ModelBuilder.h"
#include "compiler/Target/Target.h"
#include <string>
#include <vector>

namespace cascade {

/// Exit codes of the CLI contract (ARCHITECTURE.md).
enum ExitCode { kExitOk = 0, kExitError = 1, kExitUsage = 2, kExitSkip = 77 };

struct CliOptions {
  std::string command, model;
  TargetOptions target;
  IRPrinting printing;
  std::string emit, passes, output, outputDir, weights, schedule;
  std::vector<std::string> inputs; // NAME=FILE.npy
  ModelOverrides overrides;        // --set NAME=VALUE
  bool randomInputs = false, check = false, json = false;
  bool strict = false; // --strict: warnings about the model are errors
  // Let the default heuristic pick the cascade rewrites of a model without
  // a schedule (see applyDefaultRewrites).
  bool defaultRewrites = true;
  uint64_t seed = 0;
  unsigned bench = 0;
  // Tuning (docs/tuning.md).
  std::string db;          // --db: the tuning database (default: cache dir)
  bool noTuningDb = false; // --no-tuning-db: compile and run ignore it
  double tuneBudget = 0;   // --budget, seconds (0: none)
  unsigned tuneTrials = 0; // --trials (0: none)
  std::string tuneExport, tuneImport, tuneFault;
  double tuneTimeout = 0; // seconds a candidate may take (0: automatic)
};

int runCheck(const CliOptions &o);
int runOpt(const CliOptions &o);
int runAnalyze(const CliOptions &o);
int runCompile(const CliOptions &o);
int runRun(const CliOptions &o);
int runTune(const CliOptions &o);
int runImport(const CliOptions &o);

struct Session;
/// Loads the model with `o.schedule` and applies its rewrites, or the
/// default heuristic's when there is no schedule, as compile does before
/// lowering (for the tuner's cost model). Returns an exit code.
int prepareForTuning(Session &s, const CliOptions &o,
                     mlir::OwningOpRef<mlir::ModuleOp> &module);

} // namespace cascade

#endif
