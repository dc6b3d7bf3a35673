//===- CpuFeatures.cpp - Refuse models this CPU cannot run ----------------===//
//
// A model compiled with --features=+sve (or for an AVX-512 host) dies of
// SIGILL on a CPU without those instructions. The manifest records the
// features the code was compiled for; before the first run the runtime
// compares the ones that matter with what this CPU reports (the kernel's
// hwcaps on aarch64, cpuid on x86) and refuses the model with a message.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <cstring>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace cascade {
namespace rt {

namespace {

const char *thisArch() {
#if defined(__aarch64__)
  return "aarch64";
#elif defined(__x86_64__)
  return "x86_64";
#else
  return "unknown";
#endif
}

/// Whether this CPU has `feature` (an LLVM feature name); true for the
/// names this check does not know, which the compiler never relies on
/// beyond the baseline.
bool cpuHas(const std::string &feature) {
#if defined(__aarch64__) && defined(__linux__)
  unsigned long hwcap = getauxval(AT_HWCAP), hwcap2 = getauxval(AT_HWCAP2);
  if (feature == "sve")
    return hwcap & (1UL << 22); // HWCAP_SVE
  if (feature == "sve2")
    return hwcap2 & (1UL << 1); // HWCAP2_SVE2
  if (feature == "fullfp16")
    return hwcap & (1UL << 10); // HWCAP_ASIMDHP
  if (feature == "dotprod")
    return hwcap & (1UL << 20); // HWCAP_ASIMDDP
#elif defined(__x86_64__)
  __builtin_cpu_init();
  if (feature == "avx")
    return __builtin_cpu_supports("avx");
  if (feature == "avx2")
    return __builtin_cpu_supports("avx2");
  if (feature == "fma")
    return __builtin_cpu_supports("fma");
  if (feature == "avx512f")
    return __builtin_cpu_supports("avx512f");
  if (feature == "avx512bw")
    return __builtin_cpu_supports("avx512bw");
  if (feature == "avx512vl")
    return __builtin_cpu_supports("avx512vl");
  if (feature == "avx512dq")
    return __builtin_cpu_supports("avx512dq");
#endif
  (void)feature;
  return true;
}

} // namespace

cascade_status checkCpu(const Manifest &m) {
  if (!m.target.empty() && m.target != thisArch())
    return fail("model '%s' was compiled for %s; this machine is %s",
                m.model.c_str(), m.target.c_str(), thisArch());
  std::string missing;
  size_t pos = 0;
  while (pos <= m.features.size()) {
    size_t end = m.features.find(',', pos);
    if (end == std::string::npos)
      end = m.features.size();
    std::string f = m.features.substr(pos, end - pos);
    if (f.size() > 1 && f[0] == '+' && !cpuHas(f.substr(1)))
      missing += (missing.empty() ? "" : ", ") + f.substr(1);
    pos = end + 1;
  }
  if (!missing.empty())
    return fail("model '%s' was compiled for CPU features this processor "
                "lacks: %s (compile it for this CPU: --target=host, or "
                "--cpu/--features without them)",
                m.model.c_str(), missing.c_str());
  return CASCADE_OK;
}

} // namespace rt
} // namespace cascade
