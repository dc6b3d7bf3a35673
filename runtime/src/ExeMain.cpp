//===- ExeMain.cpp - main() of standalone model executables ---------------===//
//
// cascade_exe_main implements the command line of an executable made by
// `cascade compile --emit=exe`:
//   PROG [--weights FILE.safetensors] [--input NAME=FILE.npy ...]
//        [--output-dir DIR] [--random-inputs] [--seed=S] [--bench=N]
//        [--profile] [--help]
// Weights come from the safetensors file by key unless --input gives one.
// Exit codes: 0 success, 1 bad input, 2 bad command line. Only `median_ms=`
// lines and the final `wrote DIR/NAME.npy` lines go to stdout (and the usage
// text for --help); errors go to stderr as `PROG: error: message`.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <utility>

using namespace cascade::rt;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInput = 1;
constexpr int kExitUsage = 2;

const char *const kRoleNames[3] = {"input", "weight", "output"};

struct Options {
  std::vector<std::pair<std::string, std::string>> inputs; // NAME, FILE
  std::string outputDir = ".";
  std::string weightsFile; // --weights, empty if not given
  bool randomInputs = false;
  uint64_t seed = 0;
  int64_t bench = 0; // 0: no benchmark
  bool profile = false;
  bool help = false;
};

/// One tensor in buffer order (inputs, weights, outputs).
struct Tensor {
  cascade_role role;
  cascade_tensor_info info;
  std::string file;         // from --input, empty if not given
  bool fromWeights = false; // read by key from --weights
  float *data = nullptr;
};

class ExeMain {
public:
  ExeMain(const char *prog) : prog(prog) {}
  ~ExeMain() {
    for (Tensor &t : tensors)
      std::free(t.data);
    cascade_model_free(model);
    cascade_weights_close(weights);
  }

  int run(int argc, char **argv, const char *manifest, void (*entry)(void **),
          int64_t *profile);

private:
  const char *prog;
  cascade_model *model = nullptr;
  cascade_weights *weights = nullptr;
  Options opts;
  std::vector<Tensor> tensors;

  int error(int code, const char *fmt, ...)
      __attribute__((format(printf, 3, 4))) {
    va_list args;
    va_start(args, fmt);
    std::fprintf(stderr, "%s: error: ", prog);
    std::vfprintf(stderr, fmt, args);
    std::fputc('\n', stderr);
    va_end(args);
    return code;
  }

  int parseArgs(int argc, char **argv);
  void printUsage();
  int bindInputs();
  int loadInputs();
  int execute();
  int writeOutputs();
  std::string pathFor(const Tensor &t) const;
};

/// Matches `--name=value` or `--name value`; sets *value. Returns false if
/// argv[i] is not this option; sets *missing if the value is absent.
bool optionValue(int argc, char **argv, int &i, const char *name,
                 const char **value, bool *missing) {
  size_t n = std::strlen(name);
  const char *arg = argv[i];
  if (std::strncmp(arg, name, n) != 0)
    return false;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return true;
  }
  if (arg[n] != '\0')
    return false;
  if (i + 1 >= argc) {
    *missing = true;
    return true;
  }
  *value = argv[++i];
  return true;
}

/// A cache-line-aligned buffer for the tensor's elements (cascade_alloc:
/// a real pointer even for none); NULL when out of memory.
float *allocElements(const cascade_tensor_info &info) {
  return static_cast<float *>(
      cascade_alloc(size_t(info.num_elements) * sizeof(float)));
}

/// Parses a decimal integer in [0, max] with no sign or trailing text.
bool parseUnsigned(const char *s, uint64_t max, uint64_t &out) {
  if (*s < '0' || *s > '9')
    return false;
  errno = 0;
  char *end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > max)
    return false;
  out = v;
  return true;
}

int ExeMain::parseArgs(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    const char *value = nullptr;
    bool missing = false;
    if (!std::strcmp(arg, "--help") || !std::strcmp(arg, "-h")) {
      opts.help = true;
    } else if (!std::strcmp(arg, "--random-inputs")) {
      opts.randomInputs = true;
    } else if (!std::strcmp(arg, "--profile")) {
      if (cascade_model_profile_size(model) <= 0)
        return error(kExitUsage, "--profile: this program was compiled "
                                 "without profiling (cascade compile "
                                 "--profile)");
      opts.profile = true;
    } else if (optionValue(argc, argv, i, "--input", &value, &missing)) {
      if (missing)
        return error(kExitUsage, "--input needs NAME=FILE.npy");
      const char *eq = std::strchr(value, '=');
      if (!eq || eq == value || !eq[1])
        return error(kExitUsage, "--input needs NAME=FILE.npy, got '%s'",
                     value);
      opts.inputs.emplace_back(std::string(value, eq), std::string(eq + 1));
    } else if (optionValue(argc, argv, i, "--weights", &value, &missing)) {
      if (missing || !*value)
        return error(kExitUsage, "--weights needs a .safetensors file");
      if (!opts.weightsFile.empty())
        return error(kExitUsage, "--weights given twice");
      opts.weightsFile = value;
    } else if (optionValue(argc, argv, i, "--output-dir", &value, &missing)) {
      if (missing || !*value)
        return error(kExitUsage, "--output-dir needs a directory");
      opts.outputDir = value;
    } else if (optionValue(argc, argv, i, "--seed", &value, &missing)) {
      uint64_t seed;
      if (missing || !parseUnsigned(value, UINT64_MAX, seed))
        return error(kExitUsage,
                     "--seed needs a non-negative integer, got '%s'",
                     missing ? "" : value);
      opts.seed = seed;
    } else if (optionValue(argc, argv, i, "--bench", &value, &missing)) {
      uint64_t n;
      if (missing || !parseUnsigned(value, 1000000000, n) || n == 0)
        return error(kExitUsage, "--bench needs a positive integer, got '%s'",
                     missing ? "" : value);
      opts.bench = static_cast<int64_t>(n);
    } else if (arg[0] == '-') {
      return error(kExitUsage, "unknown option '%s' (see --help)", arg);
    } else {
      return error(kExitUsage, "unexpected argument '%s' (see --help)", arg);
    }
  }
  return kExitOk;
}

void ExeMain::printUsage() {
  std::printf(
      "usage: %s [--weights FILE.safetensors] [--input NAME=FILE.npy ...]\n"
      "          [--output-dir DIR] [--random-inputs] [--seed=S] [--bench=N]\n"
      "          [--profile] [--help]\n\n"
      "Runs the compiled Cascade model '%s'.\n\n"
      "  --weights FILE         read every weight by its key from this\n"
      "                         safetensors file (F32, F16, BF16 or F64)\n"
      "  --input NAME=FILE.npy  an input or weight (f32, f16 or f64 .npy);\n"
      "                         a weight may be named by its key\n"
      "  --output-dir DIR       where outputs are written as NAME.npy "
      "(default .)\n"
      "  --random-inputs        draw missing inputs and weights from a "
      "seeded\n"
      "                         standard normal and write them to DIR\n"
      "  --seed=S               seed for --random-inputs (default 0)\n"
      "  --bench=N              time N runs after a warm-up, print "
      "median_ms=\n"
      "%s\n",
      prog, cascade_model_name(model),
      cascade_model_profile_size(model) > 0
          ? "  --profile              print the time of each step over the "
            "--bench runs\n                         (10 without --bench)\n"
          : "");
  for (const Tensor &t : tensors) {
    std::printf("  %-7s %s %s %s", kRoleNames[t.role], t.info.name,
                shapeString(t.info.shape, t.info.rank).c_str(), t.info.dtype);
    if (t.role == CASCADE_WEIGHT)
      std::printf("  key '%s'", t.info.weight_key);
    std::printf("\n");
  }
  std::printf("\nExit status: 0 success, 1 bad input, 2 bad command line.\n");
}

/// Assigns each --input to an input or weight (by name, or weights by key).
int ExeMain::bindInputs() {
  for (const auto &in : opts.inputs) {
    const std::string &name = in.first;
    Tensor *found = nullptr;
    for (Tensor &t : tensors)
      if (name == t.info.name)
        found = &t;
    for (Tensor &t : tensors)
      if (!found && t.role == CASCADE_WEIGHT && name == t.info.weight_key)
        found = &t;
    if (!found)
      return error(kExitUsage, "unknown input '%s' (see --help)", name.c_str());
    if (found->role == CASCADE_OUTPUT)
      return error(kExitUsage, "'%s' is an output, not an input", name.c_str());
    if (!found->file.empty())
      return error(kExitUsage, "%s '%s' given twice", kRoleNames[found->role],
                   found->info.name);
    found->file = in.second;
  }
  for (Tensor &t : tensors)
    t.fromWeights =
        t.role == CASCADE_WEIGHT && t.file.empty() && !opts.weightsFile.empty();
  if (opts.randomInputs)
    return kExitOk;
  for (const Tensor &t : tensors) {
    if (t.role == CASCADE_OUTPUT || !t.file.empty() || t.fromWeights)
      continue;
    if (t.role == CASCADE_INPUT)
      return error(kExitUsage,
                   "missing input '%s' (give --input %s=FILE.npy or "
                   "--random-inputs)",
                   t.info.name, t.info.name);
    std::string compiledWith =
        t.info.weight_file
            ? std::string(" (the model names '") + t.info.weight_file + "')"
            : std::string();
    return error(kExitUsage,
                 "missing weight '%s', key '%s': give --weights "
                 "FILE.safetensors%s, --input %s=FILE.npy or "
                 "--random-inputs",
                 t.info.name, t.info.weight_key, compiledWith.c_str(),
                 t.info.name);
  }
  return kExitOk;
}

std::string ExeMain::pathFor(const Tensor &t) const {
  std::string path = opts.outputDir;
  if (path.back() != '/')
    path += '/';
  return path + t.info.name + ".npy";
}

/// mkdir -p.
bool makeDirs(const std::string &dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i < dir.size() && dir[i] != '/')
      continue;
    std::string prefix = dir.substr(0, i);
    if (mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST)
      return false;
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0)
    return false;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return false;
  }
  return true;
}

/// Reads the weights file and the given .npy files, and draws the missing
/// inputs and weights.
int ExeMain::loadInputs() {
  bool needWeights = std::any_of(tensors.begin(), tensors.end(),
                                 [](const Tensor &t) { return t.fromWeights; });
  if (needWeights &&
      cascade_weights_open(opts.weightsFile.c_str(), &weights) != CASCADE_OK)
    return error(kExitInput, "%s", cascade_last_error());
  for (size_t i = 0; i < tensors.size(); ++i) {
    Tensor &t = tensors[i];
    const char *role = kRoleNames[t.role];
    if (t.role == CASCADE_OUTPUT)
      continue;
    // Weights and drawn inputs are filled in place; files bring their own.
    if (t.fromWeights || t.file.empty()) {
      t.data = allocElements(t.info);
      if (!t.data)
        return error(kExitInput, "%s '%s': out of memory", role, t.info.name);
    }
    if (t.fromWeights) {
      if (cascade_weights_read_f32(weights, t.info.weight_key, t.data,
                                   t.info.num_elements) != CASCADE_OK)
        return error(kExitInput, "weight '%s': %s", t.info.name,
                     cascade_last_error());
      if (cascade_weights_check_layout(weights, t.info.weight_key, t.info.shape,
                                       t.info.rank) != CASCADE_OK)
        std::fprintf(stderr, "%s: warning: weight '%s' is %s\n", prog,
                     t.info.name, cascade_last_error());
      continue;
    }
    if (t.file.empty()) {
      cascade_fill_normal(t.data, t.info.num_elements, opts.seed, i);
      if (cascade_npy_write_f32(pathFor(t).c_str(), t.data, t.info.shape,
                                t.info.rank) != CASCADE_OK)
        return error(kExitInput, "%s", cascade_last_error());
      continue;
    }
    int64_t shape[CASCADE_MAX_RANK];
    int rank;
    if (cascade_npy_read_f32(t.file.c_str(), &t.data, shape, &rank) !=
        CASCADE_OK)
      return error(kExitInput, "%s '%s': %s", role, t.info.name,
                   cascade_last_error());
    bool same = rank == t.info.rank;
    for (int d = 0; same && d < rank; ++d)
      same = shape[d] == t.info.shape[d];
    if (!same)
      return error(kExitInput, "%s '%s': expected shape %s, got %s", role,
                   t.info.name, shapeString(t.info.shape, t.info.rank).c_str(),
                   shapeString(shape, rank).c_str());
  }
  return kExitOk;
}

int ExeMain::execute() {
  std::vector<void *> buffers;
  for (Tensor &t : tensors) {
    if (t.role == CASCADE_OUTPUT) {
      t.data = allocElements(t.info);
      if (!t.data)
        return error(kExitInput, "output '%s': out of memory", t.info.name);
      std::memset(t.data, 0, size_t(t.info.num_elements) * sizeof(float));
    }
    buffers.push_back(t.data);
  }
  if (cascade_model_run(model, buffers.data()) != CASCADE_OK)
    return error(kExitInput, "%s", cascade_last_error());
  if (opts.bench == 0 && !opts.profile)
    return kExitOk;
  // The run above is the warm-up.
  cascade_model_profile_reset(model);
  std::vector<double> times;
  int64_t runs = opts.bench ? opts.bench : 10;
  for (int64_t i = 0; i < runs; ++i) {
    double start = cascade_now_ms();
    cascade_model_run(model, buffers.data());
    times.push_back(cascade_now_ms() - start);
  }
  std::sort(times.begin(), times.end());
  size_t mid = times.size() / 2;
  double median =
      times.size() % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  if (opts.bench)
    std::printf("median_ms=%.6f\n", median);
  return kExitOk;
}

int ExeMain::writeOutputs() {
  for (const Tensor &t : tensors) {
    if (t.role != CASCADE_OUTPUT)
      continue;
    std::string path = pathFor(t);
    if (cascade_npy_write_f32(path.c_str(), t.data, t.info.shape,
                              t.info.rank) != CASCADE_OK)
      return error(kExitInput, "%s", cascade_last_error());
    std::printf("wrote %s\n", path.c_str());
  }
  return kExitOk;
}

int ExeMain::run(int argc, char **argv, const char *manifest,
                 void (*entry)(void **), int64_t *profile) {
  if (cascade_model_from_symbols(manifest, entry, &model) != CASCADE_OK)
    return error(kExitInput, "%s", cascade_last_error());
  if (profile && cascade_model_attach_profile(model, profile) != CASCADE_OK)
    return error(kExitInput, "%s", cascade_last_error());
  for (int role = 0; role < 3; ++role)
    for (int i = 0; i < cascade_model_count(model, cascade_role(role)); ++i) {
      Tensor t;
      t.role = cascade_role(role);
      cascade_model_info(model, t.role, i, &t.info);
      tensors.push_back(t);
    }

  if (int rc = parseArgs(argc, argv))
    return rc;
  if (opts.help) {
    printUsage();
    return kExitOk;
  }
  if (int rc = bindInputs())
    return rc;
  if (!makeDirs(opts.outputDir))
    return error(kExitInput, "cannot create output directory '%s': %s",
                 opts.outputDir.c_str(), std::strerror(errno));
  if (int rc = loadInputs())
    return rc;
  if (int rc = execute())
    return rc;
  if (int rc = writeOutputs())
    return rc;
  // Last, so that `cascade run` finds the table at the end.
  if (opts.profile)
    std::fputs(profileTable(model).c_str(), stdout);
  return kExitOk;
}

} // namespace

extern "C" int cascade_exe_main(int argc, char **argv,
                                const char *manifest_json,
                                void (*entry)(void **), int64_t *profile) {
  const char *prog = argc > 0 && argv && argv[0] ? argv[0] : "cascade-model";
  if (const char *slash = std::strrchr(prog, '/'))
    prog = slash + 1;
  ExeMain exe(prog);
  cascade_reuse_scratch_memory(); // --bench runs the model repeatedly
  int rc = exe.run(argv ? argc : 0, argv, manifest_json, entry, profile);
  std::fflush(stdout);
  return rc;
}
