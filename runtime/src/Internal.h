//===- Internal.h - Shared declarations of the runtime ----------*- C++ -*-===//
//
// Declarations shared by the runtime's source files; not installed.
//
//===----------------------------------------------------------------------===//

#ifndef CASCADE_RUNTIME_INTERNAL_H
#define CASCADE_RUNTIME_INTERNAL_H

#include "cascade/runtime.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace cascade {
namespace rt {

/// Sets the thread's last error message (printf-style) and returns
/// CASCADE_ERROR, so failures read `return fail("...", ...);`.
cascade_status fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/// printf into a std::string.
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/// One tensor of a manifest.
struct TensorDesc {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numElements = 1;
  std::string dtype;
  std::string key;  // weights only
  std::string file; // weights only; empty if none
  bool hasFile = false;
};

/// One timed step of a profiled build (cascade compile --profile).
struct ProfileStep {
  std::string name, function;
  std::string equations; // space-separated
  int64_t flops = 0;     // per call
};

/// A parsed and validated manifest; tensors are indexed by cascade_role.
struct Manifest {
  std::string model, function, target;
  std::string cpu, features; // as compiled: "+sve,+neon,..."
  std::vector<TensorDesc> tensors[3];
  std::vector<ProfileStep> profile; // empty unless profiled
};

/// Parses and validates a manifest. On failure sets the last error to
/// "invalid manifest: ..." and returns CASCADE_ERROR.
cascade_status parseManifest(const char *json, Manifest &out);

/// Fails (with the last error set) when this machine cannot run code
/// compiled for `m`'s target and CPU features.
cascade_status checkCpu(const Manifest &m);

/// Formats a shape as "[64, 128]".
std::string shapeString(const int64_t *shape, int rank);

/// Multiplies the dims into *count; false if a dim is negative or the
/// product exceeds `limit`.
bool checkedElementCount(const int64_t *shape, int rank, int64_t limit,
                         int64_t *count);

struct CudaModel;

/// The table cascade_model_profile_format writes ("" without a profile or
/// a run).
std::string profileTable(const cascade_model *model);

} // namespace rt
} // namespace cascade

struct cascade_model {
  cascade::rt::Manifest manifest;
  void (*entry)(void **) = nullptr;
  void *library = nullptr;                // dlopen handle, or NULL if linked in
  cascade::rt::CudaModel *cuda = nullptr; // a --target=cuda model (no entry)
  std::string device;                     // where it runs, for reports
  // A profiled build's counters (ns, calls per step; cascade_profile), and
  // the runs and their time since load or reset.
  int64_t *profile = nullptr;
  std::atomic<int64_t> profileRuns{0}, profileNs{0};
};

#endif // CASCADE_RUNTIME_INTERNAL_H
