//===- Profile.cpp - Time per step of profiled models ---------------------===//
//
// A build with --profile exports one pair of i64 counters per step
// (nanoseconds, calls; cascade-profile-steps adds to them) as
// `cascade_profile`, and its manifest names the steps in the same order.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

using namespace cascade::rt;

extern "C" cascade_status cascade_model_attach_profile(cascade_model *model,
                                                       int64_t *counters) {
  if (!model)
    return fail("cascade_model_attach_profile: NULL model");
  if (model->manifest.profile.empty())
    return fail("model '%s' was compiled without --profile",
                model->manifest.model.c_str());
  if (!counters)
    return fail("model '%s' lists profile steps but has no cascade_profile "
                "counters",
                model->manifest.model.c_str());
  model->profile = counters;
  cascade_model_profile_reset(model);
  return CASCADE_OK;
}

extern "C" int cascade_model_profile_size(const cascade_model *model) {
  if (!model)
    return -1;
  return model->profile ? static_cast<int>(model->manifest.profile.size()) : 0;
}

extern "C" cascade_status
cascade_model_profile_step(const cascade_model *model, int index,
                           cascade_profile_step *out) {
  int n = cascade_model_profile_size(model);
  if (!out || n < 0)
    return fail("cascade_model_profile_step: NULL argument");
  if (index < 0 || index >= n)
    return fail("cascade_model_profile_step: index %d out of range (%d steps)",
                index, n);
  const ProfileStep &s = model->manifest.profile[index];
  out->name = s.name.c_str();
  out->function = s.function.c_str();
  out->equations = s.equations.c_str();
  out->flops = s.flops;
  // The generated code adds to the counters atomically.
  out->seconds =
      __atomic_load_n(&model->profile[2 * index], __ATOMIC_RELAXED) * 1e-9;
  out->calls =
      __atomic_load_n(&model->profile[2 * index + 1], __ATOMIC_RELAXED);
  return CASCADE_OK;
}

extern "C" void cascade_model_profile_reset(cascade_model *model) {
  if (!model || !model->profile)
    return;
  for (size_t i = 0; i < 2 * model->manifest.profile.size(); ++i)
    __atomic_store_n(&model->profile[i], 0, __ATOMIC_RELAXED);
  model->profileRuns = 0;
  model->profileNs = 0;
}

std::string cascade::rt::profileTable(const cascade_model *model) {
  int n = cascade_model_profile_size(model);
  int64_t runs = n > 0 ? model->profileRuns.load() : 0;
  if (runs <= 0)
    return "";
  double runMs = model->profileNs.load() * 1e-6 / runs;
  std::vector<cascade_profile_step> steps(n);
  std::vector<std::string> names(n);
  double stepsMs = 0;
  size_t nameWidth = 4;
  for (int i = 0; i < n; ++i) {
    cascade_profile_step &s = steps[i];
    cascade_model_profile_step(model, i, &s);
    stepsMs += s.seconds * 1e3 / runs;
    // Steps of an outlined layer carry its name.
    names[i] = model->manifest.profile[i].function == model->manifest.function
                   ? s.name
                   : std::string(s.function) + ":" + s.name;
    nameWidth = std::max(nameWidth, names[i].size());
  }
  int width = static_cast<int>(std::min<size_t>(nameWidth, 40));
  std::string text = format(
      "profile of %s: %lld run%s, %.3f ms a run, %.1f%% of it in the steps "
      "below\n",
      model->manifest.model.c_str(), static_cast<long long>(runs),
      runs == 1 ? "" : "s", runMs, runMs > 0 ? 100 * stepsMs / runMs : 0.0);
  text += format("  %-*s %10s %6s %8s %6s  %s\n", width, "step", "ms/run", "%",
                 "GFLOP/s", "calls", "equations");
  for (int i = 0; i < n; ++i) {
    const cascade_profile_step &s = steps[i];
    double ms = s.seconds * 1e3 / runs;
    std::string gflops =
        s.seconds > 0 && s.flops > 0
            ? format("%.1f",
                     s.flops * static_cast<double>(s.calls) / s.seconds * 1e-9)
            : "-";
    text +=
        format("  %-*s %10.3f %6.1f %8s %6.1f  %s\n", width, names[i].c_str(),
               ms, runMs > 0 ? 100 * ms / runMs : 0.0, gflops.c_str(),
               static_cast<double>(s.calls) / runs, s.equations);
  }
  return text;
}

extern "C" size_t cascade_model_profile_format(const cascade_model *model,
                                               char *buf, size_t size) {
  std::string text = profileTable(model);
  if (buf && size > 0) {
    size_t k = std::min(text.size(), size - 1);
    std::memcpy(buf, text.data(), k);
    buf[k] = '\0';
  }
  return text.size();
}
