//===- Tuner.h - Tuning keys, device fingerprints, the search space -*- C++
//-*-===//
//
// The schedule search of `cascade tune` (docs/tuning.md). A candidate is a
// set of schedule directives (LANGUAGE.md section 6) for the whole model:
// the loop directives name ranks and apply model-wide, so the unit of
// tuning is the cascade, and a record is reused by every model with the
// same cascade and shapes (one BERT layer file or another).
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_COMPILER_TUNER_TUNER_H
#define CASCADE_COMPILER_TUNER_TUNER_H

#include "compiler/Target/Target.h"
#include "mlir/IR/BuiltinOps.h"
#include <map>
#include <random>
#include <string>
#include <vector>

namespace cascade {

/// A hash of the model function as written (generic form, its schedule
/// attribute left out): equal for equal cascades with equal shapes.
std::string cascadeKey(mlir::ModuleOp module);

/// CPU name, features, core count and /proc/cpuinfo's model name.
std::string deviceFingerprint(const CpuMachine &machine);

/// The timing noise of a comparison between schedules: the spread of each
/// one's interleaved medians (largest minus smallest, over their median),
/// the larger of the two, and at least 3% (the drift between rounds).
double timingNoise(const std::vector<double> &a, const std::vector<double> &b);

/// Whether a schedule timed at `candidateMs` beats the default's
/// `defaultMs` by more than `noise` (a fraction): only then is it a speedup
/// the measurements support.
inline bool beatsBeyondNoise(double candidateMs, double defaultMs,
                             double noise) {
  return candidateMs * (1 + noise) < defaultMs;
}

/// The directives a candidate may hold, derived from the model.
class SearchSpace {
public:
  explicit SearchSpace(mlir::ModuleOp module);

  /// The default heuristic's choice, written as a schedule: the driver's
  /// default 1-pass rewrite (kDefaultOnePassTile, fitted to the extent) for
  /// each softmax rank, or nothing.
  std::vector<std::string> heuristic() const;
  /// One random change: the rewrite choice, or a loop directive added,
  /// removed or retuned.
  std::vector<std::string> mutate(const std::vector<std::string> &schedule,
                                  std::mt19937_64 &rng) const;
  /// Canonical text: rewrites first (defer_division, then one_pass), the
  /// loop directives sorted; one directive per line.
  static std::string text(const std::vector<std::string> &schedule);
  static std::vector<std::string> parse(const std::string &text);
  /// Whether every directive of `schedule` makes sense for this model
  /// (its ranks exist, its tiles fit): a schedule tuned for another
  /// cascade can seed this search.
  bool accepts(const std::vector<std::string> &schedule) const;

  /// Ranks larger than `limit`, for the small configuration in which
  /// candidates are checked (`--set R=limit`).
  std::map<std::string, int64_t> smallConfig(int64_t limit) const;

private:
  std::map<std::string, int64_t> extents; // every rank of the model
  std::vector<std::string> outputRanks;   // ranks of some output index
  std::vector<std::string> softmaxRanks;  // reduced by a max
  bool hasQuotient = false;               // a division defer_division moves
  /// The equations in model order, with their ranks (for `order` and
  /// `fuse`).
  std::vector<std::pair<std::string, std::vector<std::string>>> equations;
  int64_t smallLimit = 64;

  std::vector<int64_t> tilesFor(const std::string &rank) const;
  std::string randomLoopDirective(std::mt19937_64 &rng) const;
};

} // namespace cascade

#endif
