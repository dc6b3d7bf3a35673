//===- Tune.cpp - cascade tune: per-device schedule search ----------------===//
//
// Searches schedules for a model on this machine and records every
// measurement in the tuning database (docs/tuning.md). Each candidate runs
// in child processes of this same binary (`cascade run`): one checks it
// against the reference interpreter on a small configuration of the model,
// one times it at full size. A child that crashes, hangs or computes a
// wrong answer is recorded as failed; the tuner carries on.
//
//===----------------------------------------------------------------------===//
#include "compiler/Driver/Commands.h"
#include "compiler/Driver/Session.h"
#include "compiler/Driver/TargetBackend.h"
#include "compiler/Tuner/CostModel.h"
#include "compiler/Tuner/Tuner.h"
#include "compiler/Tuner/TuningDb.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <unistd.h>

using namespace mlir;
using namespace cascade;

namespace {

using Clock = std::chrono::steady_clock;

double now() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// One child process: its exit status and standard output.
struct ChildResult {
  int rc;             // exit code; -1 not run; -2 crashed or killed
  std::string out;    // stdout
  std::string errors; // stderr
  bool timedOut = false;
};

/// Timed runs per measurement: about half a second of them, 3 to 50.
unsigned runsFor(double medianMs) {
  return unsigned(std::clamp(500.0 / std::max(medianMs, 1e-3), 3.0, 50.0));
}

class Tuner {
public:
  /// With `estimator`, candidates are ranked by the cost model for that
  /// machine instead of being timed (an emulated target).
  Tuner(const CliOptions &o, SearchSpace space, TuningKey key,
        std::string model, TuningDb &db, std::string workDir,
        const CpuMachine *estimator)
      : o(o), space(std::move(space)), key(std::move(key)),
        model(std::move(model)), db(db), workDir(std::move(workDir)),
        estimator(estimator), interactive(isatty(2)) {
    self = llvm::sys::fs::getMainExecutable("cascade",
                                            reinterpret_cast<void *>(&runTune));
    if (o.tuneTimeout > 0)
      childTimeout = o.tuneTimeout;
  }

  int run();

private:
  const CliOptions &o;
  SearchSpace space;
  TuningKey key;
  std::string model;
  TuningDb &db;
  std::string workDir, self;
  const CpuMachine *estimator;
  bool interactive;
  Clock::time_point start = Clock::now();
  std::map<std::string, TuningRecord> measured; // by schedule text
  unsigned trialsRun = 0;
  unsigned benchRuns = 5;
  double childTimeout = 120;
  std::mt19937_64 rng{0x5eed};

  double elapsed() const {
    return std::chrono::duration<double>(Clock::now() - start).count();
  }
  ChildResult runChild(std::vector<std::string> args, const std::string &fault,
                       double timeout);
  std::vector<std::string> baseArgs(const std::string &schedule);
  TuningRecord measure(const std::string &schedule);
  std::optional<double> timeOnce(const std::string &schedule,
                                 unsigned runs = 0);
  std::optional<double> timeCandidate(const std::string &schedule);
  std::optional<double> estimate(const std::string &schedule);
  static bool usable(const TuningRecord &r) {
    return r.status == "ok" || r.status == "estimate";
  }
  void progress(const TuningRecord &r);
  const TuningRecord *bestOk() const;
  double timeCost = 0; // wall seconds of one timing child
  /// The search stops early enough for the final re-timing (3 rounds of
  /// 4 finalists) to fit in the budget too.
  bool outOfBudget() const {
    if (o.tuneTrials && trialsRun >= o.tuneTrials)
      return true;
    if (o.tuneBudget <= 0)
      return false;
    double reserve = estimator ? 0 : 14 * timeCost; // 12 runs + slack
    return elapsed() >= std::max(o.tuneBudget - reserve, 0.5 * o.tuneBudget);
  }
};

ChildResult Tuner::runChild(std::vector<std::string> args,
                            const std::string &fault, double timeout) {
  static unsigned counter = 0;
  std::string outPath = workDir + "/child" + std::to_string(++counter);
  std::string errPath = outPath + ".err";
  outPath += ".out";
  std::vector<llvm::StringRef> argv{self};
  for (const std::string &a : args)
    argv.push_back(a);
  std::vector<std::string> envStore;
  for (char **e = environ; e && *e; ++e)
    envStore.push_back(*e);
  if (!fault.empty())
    envStore.push_back("CASCADE_TUNE_FAULT=" + fault);
  std::vector<llvm::StringRef> env(envStore.begin(), envStore.end());
  std::optional<llvm::StringRef> redirects[] = {
      std::nullopt, llvm::StringRef(outPath), llvm::StringRef(errPath)};
  std::string message;
  bool failedToRun = false;
  ChildResult r;
  r.rc = llvm::sys::ExecuteAndWait(self, argv, env, redirects,
                                   unsigned(std::ceil(timeout)), 0, &message,
                                   &failedToRun);
  // LLVM reports a timeout (the child killed) as a crash with a message.
  r.timedOut = llvm::StringRef(message).contains("timed out");
  if (auto b = llvm::MemoryBuffer::getFile(outPath))
    r.out = (*b)->getBuffer().str();
  if (auto b = llvm::MemoryBuffer::getFile(errPath))
    r.errors = (*b)->getBuffer().str();
  if (r.rc == -1 && !r.timedOut)
    r.errors += message;
  return r;
}

std::vector<std::string> Tuner::baseArgs(const std::string &schedule) {
  std::vector<std::string> args{"run",
                                o.model,
                                "--target=" + o.target.target,
                                "--random-inputs",
                                "--seed=1",
                                "--no-tuning-db"};
  if (!o.target.cpu.empty())
    args.push_back("--cpu=" + o.target.cpu);
  if (!o.target.features.empty())
    args.push_back("--features=" + o.target.features);
  if (o.target.l2Bytes)
    args.push_back("--l2-cache=" + std::to_string(o.target.l2Bytes));
  if (!o.weights.empty())
    args.push_back("--weights=" + o.weights);
  for (const std::string &in : o.inputs)
    args.push_back("--input=" + in);
  for (auto &[name, v] : o.overrides) {
    std::ostringstream value;
    value << std::setprecision(17) << v;
    args.push_back("--set=" + name + "=" + value.str());
  }
  if (!schedule.empty()) {
    std::string path = workDir + "/candidate.sched";
    std::ofstream(path) << "schedule {\n" << schedule << "}\n";
    args.push_back("--schedule=" + path);
  }
  return args;
}

/// Parses `median_ms=` from a child's output.
std::optional<double> medianOf(const std::string &out) {
  size_t at = out.find("median_ms=");
  if (at == std::string::npos)
    return std::nullopt;
  return std::strtod(out.c_str() + at + 10, nullptr);
}

std::optional<double> Tuner::timeOnce(const std::string &schedule,
                                      unsigned runs) {
  std::vector<std::string> args = baseArgs(schedule);
  args.push_back("--bench=" + std::to_string(runs ? runs : benchRuns));
  double begin = elapsed();
  ChildResult r = runChild(args, "", childTimeout);
  if (schedule.empty()) // finalists run about as long as the default
    timeCost = elapsed() - begin;
  if (r.rc != 0)
    return std::nullopt;
  return medianOf(r.out);
}

/// The fault the hidden --tune-fault option injects into trial `n`
/// (tests of the tuner's isolation): "crash@2,hang@3,wrong@4".
std::string faultFor(const std::string &spec, unsigned n) {
  for (llvm::StringRef item : llvm::split(spec, ',')) {
    auto [kind, at] = item.split('@');
    unsigned trial;
    if (!at.getAsInteger(10, trial) && trial == n)
      return kind.str();
  }
  return "";
}

std::optional<double> Tuner::estimate(const std::string &schedule) {
  CliOptions c = o;
  c.schedule.clear();
  if (!schedule.empty()) {
    c.schedule = workDir + "/estimate.sched";
    std::ofstream(c.schedule) << "schedule {\n" << schedule << "}\n";
  }
  Session s(o.strict);
  OwningOpRef<ModuleOp> module;
  if (prepareForTuning(s, c, module) != kExitOk)
    return std::nullopt;
  return estimateMs(getModelFunction(*module), *estimator);
}

TuningRecord Tuner::measure(const std::string &schedule) {
  ++trialsRun;
  TuningRecord r;
  r.where = key;
  r.model = model;
  r.schedule = schedule;
  r.created = now();
  std::string fault = faultFor(o.tuneFault, trialsRun);
  // 1. Correctness on a small configuration, against the reference.
  std::vector<std::string> check = baseArgs(schedule);
  check.push_back("--check");
  // An imported ONNX model's ranks are its initializers' extents: it is
  // checked at its own size (docs/tuning.md).
  bool onnx = llvm::StringRef(o.model).ends_with(".onnx");
  for (auto &[rank, ext] : space.smallConfig(64))
    if (!onnx && (!o.overrides.count(rank) || o.overrides.at(rank) > ext))
      check.push_back("--set=" + rank + "=" + std::to_string(ext));
  ChildResult c = runChild(check, fault, childTimeout);
  if (c.timedOut) {
    r.status = "timeout";
  } else if (c.rc == -2 || c.rc > 128) {
    r.status = "crash";
  } else if (c.rc != 0) {
    r.status = llvm::StringRef(c.errors).contains("differs from the reference")
                   ? "wrong"
                   : "error";
  } else if (llvm::StringRef(c.errors).contains(
                 "no equation left after the rewrites")) {
    // A directive naming equations the schedule's rewrite replaced: the
    // same code as the schedule without it, which the search covers.
    r.status = "noop";
  } else if (std::optional<double> ms =
                 estimator ? estimate(schedule) : timeCandidate(schedule)) {
    // 2. Time at full size (or estimate, on an emulated target).
    r.status = estimator ? "estimate" : "ok";
    r.medianMs = *ms;
  } else {
    r.status = "error";
  }
  std::string error;
  r.id = db.add(r, error);
  if (!r.id)
    llvm::errs() << "warning: tuning database: " << error << "\n";
  measured[schedule] = r;
  progress(r);
  return r;
}

/// A short timing first (a tenth of the runs): a candidate more than 30%
/// slower than the best so far is recorded as it is (it will not be
/// chosen); the others are timed in full. Slow candidates, often many times
/// slower than the default, would otherwise eat the budget.
std::optional<double> Tuner::timeCandidate(const std::string &schedule) {
  const TuningRecord *best = bestOk();
  if (!best || benchRuns < 10)
    return timeOnce(schedule);
  std::optional<double> quick = timeOnce(schedule, 3);
  if (!quick || *quick > 1.3 * best->medianMs)
    return quick;
  return timeOnce(schedule);
}

const TuningRecord *Tuner::bestOk() const {
  const TuningRecord *best = nullptr;
  for (auto &[text, r] : measured)
    if (usable(r) && (!best || r.medianMs < best->medianMs))
      best = &r;
  return best;
}

void Tuner::progress(const TuningRecord &r) {
  const TuningRecord *best = bestOk();
  std::string bestText =
      best ? llvm::formatv("{0:f3} ms", best->medianMs).str() : "none";
  std::string eta;
  if (o.tuneBudget > 0)
    eta =
        llvm::formatv(", ETA {0:f0} s", std::max(0.0, o.tuneBudget - elapsed()))
            .str();
  else if (o.tuneTrials && trialsRun)
    eta = llvm::formatv(", ETA {0:f0} s",
                        elapsed() / trialsRun * (o.tuneTrials - trialsRun))
              .str();
  std::string what = usable(r) ? llvm::formatv("{0:f3} ms{1}", r.medianMs,
                                               estimator ? " (estimate)" : "")
                                     .str()
                               : r.status;
  std::string line = llvm::formatv("trial {0}: {1} | best {2}{3}", trialsRun,
                                   what, bestText, eta)
                         .str();
  if (interactive)
    llvm::errs() << "\r\x1b[K" << line;
  else
    llvm::errs() << line << "\n";
}

int Tuner::run() {
  for (TuningRecord &r : db.measurements(key))
    if (r.status != "retime")
      measured[r.schedule] = r;
  if (!measured.empty())
    llvm::errs() << "resuming: " << measured.size()
                 << " schedules of this cascade already measured on this "
                    "device\n";
  // The default heuristic first: the reference point of every result.
  if (!measured.count("") && estimator) {
    measure("");
  } else if (!measured.count("")) {
    // One calibrating run sets how many timed runs each measurement takes
    // (about half a second) and the children's timeout.
    if (std::optional<double> ms = timeOnce(""))
      benchRuns = runsFor(*ms);
    measure("");
  }
  const TuningRecord &def = measured[""];
  if (!usable(def)) {
    llvm::errs() << (interactive ? "\n" : "")
                 << "error: the model does not run with the default "
                    "schedule ("
                 << def.status << "); nothing to tune\n";
    return kExitError;
  }
  benchRuns = runsFor(def.medianMs);
  childTimeout = o.tuneTimeout > 0
                     ? o.tuneTimeout
                     : std::max(60.0, 50 * def.medianMs * benchRuns / 1000);
  // Records of other cascades on this device seed the search: the best
  // schedule of a layer with the same ranks is a good first guess.
  for (const std::string &seed : db.bestElsewhere(key)) {
    if (outOfBudget())
      break;
    std::string text = SearchSpace::text(SearchSpace::parse(seed));
    if (!measured.count(text) && space.accepts(SearchSpace::parse(seed))) {
      if (interactive)
        llvm::errs() << "\n";
      llvm::errs() << "seed from another cascade: "
                   << llvm::join(SearchSpace::parse(seed), "; ") << "\n";
      measure(text);
    }
  }

  // Evolutionary search: mutate one of the best few, skip what is known.
  while (!outOfBudget()) {
    std::vector<const TuningRecord *> ok;
    for (auto &[text, r] : measured)
      if (usable(r))
        ok.push_back(&r);
    std::sort(ok.begin(), ok.end(),
              [](auto *a, auto *b) { return a->medianMs < b->medianMs; });
    size_t pool = std::min<size_t>(ok.size(), 4);
    const TuningRecord *parent =
        ok[std::uniform_int_distribution<size_t>(0, pool - 1)(rng)];
    std::vector<std::string> base = parent->schedule.empty()
                                        ? space.heuristic()
                                        : SearchSpace::parse(parent->schedule);
    std::string text;
    for (int attempt = 0; attempt < 50; ++attempt) {
      text = SearchSpace::text(space.mutate(base, rng));
      if (!measured.count(text))
        break;
      base = SearchSpace::parse(text); // walk further
    }
    if (measured.count(text))
      break; // the space is exhausted around the best
    measure(text);
  }
  if (interactive)
    llvm::errs() << "\n";

  // Machines drift: re-time the finalists interleaved, take medians.
  std::vector<std::string> finalists{""};
  std::vector<const TuningRecord *> ok;
  for (auto &[text, r] : measured)
    if (usable(r) && !text.empty())
      ok.push_back(&r);
  std::sort(ok.begin(), ok.end(),
            [](auto *a, auto *b) { return a->medianMs < b->medianMs; });
  for (size_t i = 0; i < ok.size() && i < 3; ++i)
    finalists.push_back(ok[i]->schedule);
  std::map<std::string, std::vector<double>> times;
  // (Estimates do not drift: an emulated target keeps them.)
  // Past the budget, one round has to do.
  for (int round = 0; round < 3 && !estimator; ++round) {
    if (round > 0 && o.tuneBudget > 0 && elapsed() > o.tuneBudget)
      break;
    for (const std::string &s : finalists)
      if (std::optional<double> ms = timeOnce(s))
        times[s].push_back(*ms);
  }
  if (estimator)
    for (const std::string &s : finalists)
      times[s].push_back(measured[s].medianMs);
  std::string bestSchedule;
  double bestMs = INFINITY, defaultMs = NAN;
  int64_t bestId = 0, defaultId = 0;
  for (const std::string &s : finalists) {
    std::vector<double> &t = times[s];
    if (t.empty())
      continue;
    std::sort(t.begin(), t.end());
    double median = t[t.size() / 2];
    TuningRecord r;
    r.where = key;
    r.model = model;
    r.schedule = s;
    r.status = "retime";
    r.medianMs = median;
    r.created = now();
    std::string error;
    int64_t id = estimator ? measured[s].id : db.add(r, error);
    if (s.empty()) {
      defaultMs = median;
      defaultId = id;
    }
    if (median < bestMs) {
      bestMs = median;
      bestSchedule = s;
      bestId = id;
    }
  }
  // A schedule must beat the default by more than the timing noise to
  // replace it: the spread of either's interleaved medians, at least 3%.
  double noise = timingNoise(times[""], times[bestSchedule]);
  bool otherBest = !bestSchedule.empty();
  double otherMs = bestMs;
  bool withinNoise = defaultId && !beatsBeyondNoise(bestMs, defaultMs, noise);
  if (withinNoise) {
    bestSchedule.clear();
    bestMs = defaultMs;
    bestId = defaultId;
  }
  std::string error;
  if (bestId && !db.markBest(key, bestId, error))
    llvm::errs() << "warning: tuning database: " << error << "\n";

  unsigned failed = 0, noops = 0;
  for (auto &[text, r] : measured) {
    noops += r.status == "noop";
    failed += !usable(r) && r.status != "noop";
  }
  llvm::outs() << "tuned " << model << " in "
               << llvm::formatv("{0:f1}", elapsed())
               << " s: " << measured.size() << " schedules measured (" << failed
               << " failed"
               << (noops ? ", " + std::to_string(noops) + " no-op" : "")
               << "), " << trialsRun << " this run\n";
  std::string band =
      estimator ? std::string("estimated times")
                : llvm::formatv("timing noise +-{0:f0}%", 100 * noise).str();
  if (withinNoise && otherBest)
    llvm::outs() << "default: " << llvm::formatv("{0:f4}", defaultMs)
                 << " ms; best other schedule: "
                 << llvm::formatv("{0:f4}", otherMs) << " ms, within the "
                 << (estimator ? "3% margin of the estimates" : band)
                 << ": no speedup the data can support, the default is kept\n";
  else
    llvm::outs() << "default: " << llvm::formatv("{0:f4}", defaultMs)
                 << " ms; best: " << llvm::formatv("{0:f4}", bestMs) << " ms ("
                 << llvm::formatv("{0:f2}", defaultMs / bestMs) << "x, " << band
                 << ")\n";
  if (bestSchedule.empty())
    llvm::outs() << "best schedule: the default heuristic\n";
  else
    llvm::outs() << "best schedule:\nschedule {\n"
                 << llvm::join(SearchSpace::parse(bestSchedule), "\n") + "\n"
                 << "}\n";
  return kExitOk;
}

std::string dbPath(const CliOptions &o) {
  return o.db.empty() ? TuningDb::defaultPath() : o.db;
}

} // namespace

int cascade::runTune(const CliOptions &o) {
  std::string error;
  std::optional<TuningDb> db = TuningDb::open(dbPath(o), error);
  if (!db) {
    llvm::errs() << "error: tuning database " << error << "\n";
    return kExitError;
  }
  if (!o.tuneExport.empty()) {
    std::vector<std::string> lines = db->exportLines();
    std::error_code ec;
    llvm::raw_fd_ostream os(o.tuneExport, ec);
    if (ec) {
      llvm::errs() << o.tuneExport << ": error: " << ec.message() << "\n";
      return kExitError;
    }
    for (const std::string &l : lines)
      os << l << "\n";
    llvm::outs() << "exported " << lines.size() << " records to "
                 << o.tuneExport << "\n";
    return kExitOk;
  }
  if (!o.tuneImport.empty()) {
    auto buffer = llvm::MemoryBuffer::getFile(o.tuneImport, true);
    if (!buffer) {
      llvm::errs() << o.tuneImport
                   << ": error: cannot read: " << buffer.getError().message()
                   << "\n";
      return kExitError;
    }
    std::vector<std::string> lines;
    for (llvm::StringRef l : llvm::split((*buffer)->getBuffer(), '\n'))
      lines.push_back(l.str());
    int64_t added = db->importLines(lines, o.tuneImport, error);
    if (added < 0) {
      llvm::errs() << "error: " << error << "\n";
      return kExitError;
    }
    llvm::outs() << "imported " << added << " records from " << o.tuneImport
                 << "\n";
    return kExitOk;
  }
  if (o.model.empty()) {
    llvm::errs() << "error: expected a model file (or --export/--import)\n";
    return kExitUsage;
  }
  if (!o.schedule.empty() || !o.passes.empty()) {
    llvm::errs() << "error: 'cascade tune' searches schedules itself; "
                    "--schedule and --passes do not apply\n";
    return kExitUsage;
  }
  const TargetBackend *backend = lookupTargetBackend(o.target, error);
  if (!backend) {
    llvm::errs() << "error: " << error << "\n";
    return kExitUsage;
  }
  if (std::string why = backend->tuningUnavailable(); !why.empty()) {
    llvm::errs() << "error: " << why << "\n";
    return kExitUsage;
  }
  Session s(o.strict);
  OwningOpRef<ModuleOp> module = s.load(o.model, "", o.overrides);
  if (!module || s.errors)
    return kExitError;
  FailureOr<CpuMachine> machine = resolveCpuMachine(*module, o.target);
  if (failed(machine))
    return kExitError;
  // Under an emulator times mean nothing: rank by the cost model.
  const CpuMachine *estimator = nullptr;
  if (!machine->native) {
    llvm::errs() << "note: --target=" << o.target.target
                 << " runs under an emulator here, where times mean "
                    "nothing: candidates are checked under the emulator and "
                    "ranked by the analytical cost model (estimates, not "
                    "measurements; docs/tuning.md)\n";
    estimator = &*machine;
  }
  TuningKey key{cascadeKey(*module), machine->arch, deviceFingerprint(*machine),
                CASCADE_VERSION};
  llvm::SmallString<128> dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("cascade-tune", dir)) {
    llvm::errs() << "error: cannot create a work folder: " << ec.message()
                 << "\n";
    return kExitError;
  }
  std::string model = getModelFunction(*module).getSymName().str();
  Tuner tuner(o, SearchSpace(*module), key, model, *db, std::string(dir),
              estimator);
  int rc = tuner.run();
  llvm::sys::fs::remove_directories(dir);
  return rc;
}
