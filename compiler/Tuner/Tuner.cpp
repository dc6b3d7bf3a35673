//===- Tuner.cpp - Tuning keys, device fingerprints, the search space -----===//
#include "compiler/Tuner/Tuner.h"
#include "passes/Strategy/LoweringStrategy.h"

#include "dialects/Cascade/IR/CascadeOps.h"
#include "dialects/Cascade/IR/RankNames.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "passes/Conversion/LoopNest.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/xxhash.h"
#include <algorithm>
#include <set>
#include <thread>

using namespace mlir;
using namespace cascade;

std::string cascade::cascadeKey(ModuleOp module) {
  func::FuncOp f = getModelFunction(module);
  OwningOpRef<Operation *> copy = f->clone();
  (*copy)->removeAttr("cascade.schedule");
  (*copy)->removeAttr("cascade.weights_file");
  std::string text;
  llvm::raw_string_ostream os(text);
  (*copy)->print(os, OpPrintingFlags().printGenericOpForm().useLocalScope());
  return llvm::utohexstr(llvm::xxh3_64bits(text), /*LowerCase=*/true, 16);
}

std::string cascade::deviceFingerprint(const CpuMachine &m) {
  std::string model = "unknown";
  if (auto info = llvm::MemoryBuffer::getFileAsStream("/proc/cpuinfo")) {
    for (llvm::StringRef line : llvm::split((*info)->getBuffer(), '\n'))
      if (line.starts_with("model name")) {
        model = line.split(':').second.trim().str();
        break;
      }
  }
  return m.arch + " " + m.cpu + " [" + model +
         "] cores=" + std::to_string(std::thread::hardware_concurrency()) +
         " features=" + m.features;
}

SearchSpace::SearchSpace(ModuleOp module) {
  func::FuncOp f = getModelFunction(module);
  std::set<std::string> outs, softmax;
  f.walk([&](EinsumOp op) {
    std::vector<std::string> ranks;
    for (unsigned d = 0; d < op.getNumLoops(); ++d)
      ranks.push_back(LoopSchedule::rankOf(op, d));
    equations.push_back({op.getName().str(), ranks});
    for (unsigned d = 0; d < op.getNumLoops(); ++d) {
      std::string rank = LoopSchedule::rankOf(op, d);
      extents[rank] = op.getExtents()[d];
      if (!op.isReducedDim(d))
        outs.insert(rank);
      else if (op.getReduction() == "max")
        softmax.insert(rank);
    }
    op.walk([&](BinaryOp b) { hasQuotient |= b.getFn() == "div"; });
  });
  outputRanks.assign(outs.begin(), outs.end());
  softmaxRanks.assign(softmax.begin(), softmax.end());
}

std::vector<int64_t> SearchSpace::tilesFor(const std::string &rank) const {
  // Register-sized tiles that also split the small configuration
  // (candidates are checked there) ...
  int64_t ext = std::min(extents.at(rank), smallLimit);
  std::vector<int64_t> out;
  for (int64_t t : {8, 16, 32})
    if (t < ext)
      out.push_back(t);
  // ... and, for an output rank, cache-sized tiles of the full extent: a
  // contraction keeps its micro-kernel inside a schedule's tile loops, so
  // these are the L2 blocking of a GEMM (split N 256, parallel N1). The
  // small check runs them as one tile.
  if (llvm::is_contained(outputRanks, rank))
    for (int64_t t : {64, 128, 256})
      if (t < extents.at(rank))
        out.push_back(t);
  return out;
}

std::vector<std::string> SearchSpace::heuristic() const {
  std::vector<std::string> s;
  // The driver's default rewrite (applyDefaultRewrites), tile fitted the
  // same way: the search starts where the default is.
  for (const std::string &r : softmaxRanks)
    s.push_back("rewrite one_pass(" + r + ") tile " +
                std::to_string(
                    fitOnePassTile(kDefaultOnePassTile, extents.at(r), true)));
  return s;
}

std::string SearchSpace::randomLoopDirective(std::mt19937_64 &rng) const {
  auto pick = [&](const std::vector<std::string> &v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  };
  std::vector<std::string> splittable;
  for (auto &[r, e] : extents)
    if (!llvm::is_contained(softmaxRanks, r) && !tilesFor(r).empty() &&
        !extents.count(splitPartName(r, "1")) &&
        !extents.count(splitPartName(r, "0")))
      splittable.push_back(r);
  std::vector<std::string> all;
  for (auto &[r, e] : extents)
    all.push_back(r);
  switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
  case 4: {
    // The loop order of one equation: two of its ranks first.
    auto &[name, ranks] = equations[std::uniform_int_distribution<size_t>(
        0, equations.size() - 1)(rng)];
    if (ranks.size() >= 2) {
      std::vector<std::string> r = ranks;
      std::shuffle(r.begin(), r.end(), rng);
      return "order " + name + ": " + r[0] + ", " + r[1];
    }
    return "vectorize " + pick(all);
  }
  case 5: {
    // Two or three consecutive equations in one loop nest (the compiler
    // rejects a group that cannot share a loop: an `error` trial).
    if (equations.size() < 2)
      return "vectorize " + pick(all);
    size_t first =
        std::uniform_int_distribution<size_t>(0, equations.size() - 2)(rng);
    size_t last =
        std::min(equations.size() - 1,
                 first + std::uniform_int_distribution<size_t>(1, 2)(rng));
    return "fuse " + equations[first].first + ".." + equations[last].first +
           " as tuned";
  }
  case 0:
    if (!outputRanks.empty())
      return "parallel " + pick(outputRanks);
    [[fallthrough]];
  case 1:
    return "vectorize " + pick(all);
  case 2: {
    int factor = std::uniform_int_distribution<int>(0, 1)(rng) ? 4 : 2;
    return "unroll " + pick(all) + " = " + std::to_string(factor);
  }
  default: {
    if (splittable.empty())
      return "vectorize " + pick(all);
    std::string r = pick(splittable);
    std::vector<int64_t> tiles = tilesFor(r);
    int64_t t =
        tiles[std::uniform_int_distribution<size_t>(0, tiles.size() - 1)(rng)];
    return "split " + r + " -> " + splitPartName(r, "1") + ", " +
           splitPartName(r, "0") + " = " + std::to_string(t);
  }
  }
}

/// The directive's kind and the rank it is about ("split P", "parallel
/// P"): a schedule holds one directive per kind and rank.
static std::string slotOf(const std::string &d) {
  llvm::SmallVector<llvm::StringRef> words;
  llvm::StringRef(d).split(words, ' ', -1, false);
  if (words.size() < 2)
    return d;
  if (words[0] == "rewrite")
    return words[1].split('(').first.str();
  if (words[0] == "fuse")
    return "fuse"; // one tuned group at most
  if (words[0] == "order")
    return ("order " + words[1].rtrim(':')).str();
  return (words[0] + " " + words[1]).str();
}

std::vector<std::string>
SearchSpace::mutate(const std::vector<std::string> &schedule,
                    std::mt19937_64 &rng) const {
  std::vector<std::string> s = schedule;
  auto without = [&](const std::string &slot) {
    s.erase(
        std::remove_if(s.begin(), s.end(),
                       [&](const std::string &d) { return slotOf(d) == slot; }),
        s.end());
  };
  int choice = std::uniform_int_distribution<int>(0, 9)(rng);
  if (choice < 3 && !softmaxRanks.empty()) {
    // The softmax rewrite: 3-pass as written, or 1-pass with a tile.
    without("one_pass");
    static const int64_t kTiles[] = {0, 16, 32, 64, 128};
    int64_t t = kTiles[std::uniform_int_distribution<int>(0, 4)(rng)];
    if (t)
      for (const std::string &r : softmaxRanks)
        s.push_back("rewrite one_pass(" + r + ") tile " +
                    std::to_string(std::min(t, extents.at(r))));
    return s;
  }
  if (choice == 3 && hasQuotient) {
    bool had = llvm::is_contained(s, "rewrite defer_division");
    without("defer_division");
    if (!had)
      s.push_back("rewrite defer_division");
    return s;
  }
  std::vector<size_t> loops;
  for (size_t i = 0; i < s.size(); ++i)
    if (!llvm::StringRef(s[i]).starts_with("rewrite"))
      loops.push_back(i);
  if (choice < 6 && !loops.empty()) {
    // Remove one loop directive.
    s.erase(
        s.begin() +
        loops[std::uniform_int_distribution<size_t>(0, loops.size() - 1)(rng)]);
    return s;
  }
  std::string d = randomLoopDirective(rng);
  without(slotOf(d));
  s.push_back(d);
  return s;
}

std::string SearchSpace::text(const std::vector<std::string> &schedule) {
  std::vector<std::string> rewrites, loops;
  for (const std::string &d : schedule)
    (llvm::StringRef(d).starts_with("rewrite") ? rewrites : loops).push_back(d);
  std::sort(rewrites.begin(), rewrites.end(),
            [](const std::string &a, const std::string &b) {
              // defer_division before one_pass
              return a < b;
            });
  std::sort(loops.begin(), loops.end());
  std::string out;
  for (auto *list : {&rewrites, &loops})
    for (const std::string &d : *list)
      out += d + "\n";
  return out;
}

std::vector<std::string> SearchSpace::parse(const std::string &text) {
  std::vector<std::string> out;
  for (llvm::StringRef line : llvm::split(text, '\n'))
    if (!line.trim().empty())
      out.push_back(line.trim().str());
  return out;
}

bool SearchSpace::accepts(const std::vector<std::string> &schedule) const {
  for (const std::string &d : schedule) {
    llvm::SmallVector<llvm::StringRef> w;
    llvm::StringRef(d).split(w, ' ', -1, false);
    if (w.size() < 2)
      return false;
    if (w[0] == "rewrite") {
      if (w[1] == "defer_division") {
        if (!hasQuotient)
          return false;
        continue;
      }
      llvm::StringRef rank = w[1].split('(').second.split(')').first;
      if (!llvm::is_contained(softmaxRanks, rank.str()))
        return false;
      continue;
    }
    if (w[0] == "order" || w[0] == "fuse") {
      // Equation names: they must be this model's.
      std::string name = w[0] == "order" ? w[1].rtrim(':').str()
                                         : w[1].split("..").first.str();
      if (!llvm::any_of(equations, [&](auto &e) { return e.first == name; }))
        return false;
      continue;
    }
    std::string rank = w[1].str();
    if (!extents.count(rank))
      return false;
    if (w[0] == "split") {
      int64_t tile;
      if (w.size() != 7 || w.back().getAsInteger(10, tile) ||
          !llvm::is_contained(tilesFor(rank), tile) ||
          llvm::is_contained(softmaxRanks, rank) ||
          extents.count(splitPartName(rank, "1")) ||
          extents.count(splitPartName(rank, "0")))
        return false;
    } else if (w[0] == "parallel") {
      if (!llvm::is_contained(outputRanks, rank))
        return false;
    } else if (w[0] != "vectorize" && w[0] != "unroll") {
      return false;
    }
  }
  return true;
}

std::map<std::string, int64_t> SearchSpace::smallConfig(int64_t limit) const {
  std::map<std::string, int64_t> out;
  for (auto &[r, e] : extents)
    if (e > limit)
      out[r] = limit;
  return out;
}

double cascade::timingNoise(const std::vector<double> &a,
                            const std::vector<double> &b) {
  auto spread = [](std::vector<double> t) {
    if (t.size() < 2)
      return 0.0;
    std::sort(t.begin(), t.end());
    double median = t[t.size() / 2];
    return median > 0 ? (t.back() - t.front()) / median : 0.0;
  };
  return std::max({0.03, spread(a), spread(b)});
}
