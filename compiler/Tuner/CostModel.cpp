//===- CostModel.cpp - Analytical cost of a scheduled cascade -------------===//
#include "compiler/Tuner/CostModel.h"

#include "dialects/Cascade/IR/CascadeOps.h"
#include "passes/Analysis/CascadeAnalysis.h"
#include "passes/Conversion/LoopNest.h"
#include "passes/Conversion/TiledKernel.h"
#include "llvm/ADT/StringRef.h"
#include <algorithm>

using namespace mlir;
using namespace cascade;

namespace {
// A nominal core: 2 GHz, two FMA pipes, and 10 GB/s from memory. Only
// ratios between candidates matter.
constexpr double kGHz = 2.0;
constexpr double kBytesPerNs = 10.0;
// Fractions of peak: a contraction on its register-tiled kernel (also inside
// a schedule's tile loops), one the schedule lowers as a plain nest
// (whyScheduleExcludesKernel), and the other (elementwise, reduction) nests,
// which LLVM vectorizes.
constexpr double kKernel = 0.7, kScheduledContraction = 0.15,
                 kElementwise = 0.3;

bool isContraction(EinsumOp op) {
  return op.hasReduction() && op.getReduction() == "add" &&
         op.getInputs().size() >= 2;
}
} // namespace

double cascade::estimateMs(func::FuncOp model, const CpuMachine &m) {
  double lanes = m.scalable || m.arch == "aarch64"                  ? 4
                 : llvm::StringRef(m.features).contains("+avx512f") ? 16
                                                                    : 8;
  double peakPerNs = lanes * 2 /*FMA*/ * 2 /*pipes*/ * kGHz;
  CascadeAnalysis analysis = analyzeCascade(model);
  LoopSchedule sched = LoopSchedule::fromFunction(model);
  double ns = 0;
  size_t i = 0;
  for (EinsumOp op : model.getOps<EinsumOp>()) {
    if (i >= analysis.equations.size())
      break;
    const EquationCost &c = analysis.equations[i++];
    double efficiency =
        !isContraction(op) ? kElementwise
        : sched.touches(op) && !whyScheduleExcludesKernel(op, sched).empty()
            ? kScheduledContraction
            : kKernel;
    ns += std::max(double(c.flops) / (peakPerNs * efficiency),
                   double(c.bytes) / kBytesPerNs);
  }
  return ns * 1e-6;
}
