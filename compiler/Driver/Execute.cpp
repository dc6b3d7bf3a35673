//===- Execute.cpp - Running compiled models for `cascade run` ------------===//
#include "compiler/Driver/Execute.h"
#include "cascade/runtime.h"
#include "compiler/Driver/Commands.h"
#include "compiler/Driver/Files.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include <algorithm>
#include <memory>

namespace cascade {

namespace {

double median(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  size_t n = times.size();
  return n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
}

std::string readText(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  return buffer ? (*buffer)->getBuffer().str() : "";
}

/// Reads DIR/NAME.npy into `t`, which must keep its shape.
bool readOutput(const std::string &dir, HostTensor &t) {
  std::string path = dir + "/" + t.name + ".npy";
  float *data = nullptr;
  int64_t shape[CASCADE_MAX_RANK];
  int rank = 0;
  if (cascade_npy_read_f32(path.c_str(), &data, shape, &rank) != CASCADE_OK) {
    reportFileError(path);
    return false;
  }
  std::unique_ptr<float, void (*)(void *)> owner(data, cascade_free);
  if (std::vector<int64_t>(shape, shape + rank) != t.shape) {
    llvm::errs() << path << ": error: the program wrote a tensor of "
                 << "another shape\n";
    return false;
  }
  std::copy(data, data + t.data.size(), t.data.begin());
  return true;
}

/// Writes the artifact's object into `tmp` and links it there into `name`
/// (a shared library, or with `executable` a standalone program); the
/// linked file's path, or "" after a message.
std::string writeAndLink(const TempDir &tmp, const CpuArtifact &art,
                         const std::string &name, bool executable) {
  std::string obj = tmp.file("model.o"), out = tmp.file(name), error;
  if (!writeFile(obj, art.object))
    return "";
  bool linked = executable ? linkExecutable(obj, out, art.machine, error)
                           : linkSharedLibrary(obj, out, art.machine, error);
  if (!linked) {
    llvm::errs() << "error: " << error << "\n";
    return "";
  }
  return out;
}

/// The runtime's buffer order: inputs and weights, then outputs.
std::vector<void *> bufferList(std::vector<HostTensor> &args,
                               std::vector<HostTensor> &outputs) {
  std::vector<void *> buffers;
  for (HostTensor &t : args)
    buffers.push_back(t.data.data());
  for (HostTensor &t : outputs)
    buffers.push_back(t.data.data());
  return buffers;
}

/// One run of a loaded model; reports the runtime's error.
bool runOnce(cascade_model *model, std::vector<void *> &buffers) {
  if (cascade_model_run(model, buffers.data()) == CASCADE_OK)
    return true;
  llvm::errs() << "error: " << cascade_last_error() << "\n";
  return false;
}

/// The value of a `key=value` line a program printed.
std::optional<llvm::StringRef> printedValue(llvm::StringRef text,
                                            llvm::StringRef key) {
  size_t at = text.find((key + "=").str());
  if (at == llvm::StringRef::npos)
    return std::nullopt;
  return text.drop_front(at + key.size() + 1).take_until([](char c) {
    return c == '\n';
  });
}

/// How a program run on .npy files ended, and what it printed.
struct ProgramRun {
  int rc = 0; // -1 with `msg` when it could not run or died of a signal
  std::string msg;
  std::string stdoutText;
};

/// Runs `command` on `args`, written as .npy files in tmp/in and passed as
/// `--input NAME=PATH`, with `--output-dir tmp/out` and, with `bench`,
/// `--bench=N`. Relays the program's stderr except the lines `quiet`
/// selects; the program reports `PATH: error: message`, where PATH is a
/// temporary file of no interest to the user. False after a message when
/// the files cannot be written.
bool runOnNpyFiles(const TempDir &tmp, std::vector<std::string> command,
                   const std::vector<HostTensor> &args, unsigned bench,
                   llvm::function_ref<bool(llvm::StringRef)> quiet,
                   ProgramRun &run) {
  std::string in = tmp.file("in"), out = tmp.file("out");
  if (llvm::sys::fs::create_directory(in) ||
      llvm::sys::fs::create_directory(out)) {
    llvm::errs() << "error: cannot create a temporary folder\n";
    return false;
  }
  for (const HostTensor &t : args) {
    if (!writeTensor(in, t))
      return false;
    command.push_back("--input");
    command.push_back(t.name + "=" + in + "/" + t.name + ".npy");
  }
  command.insert(command.end(), {"--output-dir", out});
  if (bench > 0)
    command.push_back("--bench=" + std::to_string(bench));

  std::string stdoutFile = tmp.file("stdout.txt"),
              stderrFile = tmp.file("stderr.txt");
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, stdoutFile,
                                                stderrFile};
  std::vector<llvm::StringRef> argv(command.begin(), command.end());
  run.rc = llvm::sys::ExecuteAndWait(command[0], argv, std::nullopt, redirects,
                                     0, 0, &run.msg);
  llvm::SmallVector<llvm::StringRef> lines;
  std::string errText = readText(stderrFile);
  llvm::StringRef(errText).split(lines, '\n', -1, false);
  for (llvm::StringRef line : lines) {
    if (quiet && quiet(line))
      continue;
    size_t at = line.find(": error: ");
    if (at != llvm::StringRef::npos && !line.take_front(at).contains(' '))
      line = line.drop_front(at + 2);
    llvm::errs() << line << "\n";
  }
  run.stdoutText = readText(stdoutFile);
  return true;
}

/// How a failed program run ended, for a message.
std::string howItEnded(const ProgramRun &run) {
  return run.msg.empty() ? "exit code " + std::to_string(run.rc) : run.msg;
}

/// After a successful run: the outputs from tmp/out and, with `bench`, the
/// program's own timing (`median_ms=X` on stdout).
bool readResults(const TempDir &tmp, const ProgramRun &run,
                 std::vector<HostTensor> &outputs, unsigned bench,
                 llvm::StringRef who, double &medianMs) {
  for (HostTensor &t : outputs)
    if (!readOutput(tmp.file("out"), t))
      return false;
  if (bench == 0)
    return true;
  std::optional<llvm::StringRef> ms = printedValue(run.stdoutText, "median_ms");
  if (!ms || !llvm::to_float(*ms, medianMs)) {
    llvm::errs() << "error: " << who << " printed no median_ms\n";
    return false;
  }
  return true;
}

} // namespace

int executeInProcess(const CpuArtifact &art, std::vector<HostTensor> &args,
                     std::vector<HostTensor> &outputs, unsigned bench,
                     double &medianMs, std::string *profile) {
  TempDir tmp;
  if (!tmp.usable())
    return kExitError;
  std::string lib = writeAndLink(tmp, art, "libmodel.so", false);
  if (lib.empty())
    return kExitError;
  cascade_model *model = nullptr;
  if (cascade_model_load(lib.c_str(), &model) != CASCADE_OK) {
    llvm::errs() << "error: " << cascade_last_error() << "\n";
    return kExitError;
  }
  std::unique_ptr<cascade_model, void (*)(cascade_model *)> owner(
      model, cascade_model_free);
  std::vector<void *> buffers = bufferList(args, outputs);
  if (!runOnce(model, buffers))
    return kExitError;
  bool profiled = cascade_model_profile_size(model) > 0;
  if (bench == 0 && !profiled)
    return kExitOk;
  cascade_model_run(model, buffers.data()); // warm-up
  cascade_model_profile_reset(model);
  std::vector<double> times;
  for (unsigned i = 0; i < (bench ? bench : 10); ++i) {
    double t0 = cascade_now_ms();
    cascade_model_run(model, buffers.data());
    times.push_back(cascade_now_ms() - t0);
  }
  medianMs = median(times);
  if (profiled && profile) {
    profile->assign(cascade_model_profile_format(model, nullptr, 0), '\0');
    cascade_model_profile_format(model, profile->data(), profile->size() + 1);
  }
  return kExitOk;
}

int executeEmulated(const CpuArtifact &art,
                    const std::vector<std::string> &emulator,
                    const std::vector<HostTensor> &args,
                    std::vector<HostTensor> &outputs, unsigned bench,
                    double &medianMs, std::string *profile) {
  TempDir tmp;
  if (!tmp.usable())
    return kExitError;
  std::string exe = writeAndLink(tmp, art, "model", true);
  if (exe.empty())
    return kExitError;
  std::vector<std::string> command = emulator;
  command.push_back(exe);
  if (art.machine.profile)
    command.push_back("--profile");
  ProgramRun run;
  if (!runOnNpyFiles(tmp, command, args, bench, nullptr, run))
    return kExitError;
  if (run.rc != 0) {
    llvm::errs() << "error: the " << art.machine.arch << " program failed "
                 << "under " << llvm::sys::path::filename(emulator[0]) << " ("
                 << howItEnded(run) << ")\n";
    return kExitError;
  }
  // The program times its runs itself, and prints its profile last.
  if (size_t at = run.stdoutText.find("profile of ");
      profile && art.machine.profile && at != std::string::npos)
    *profile = run.stdoutText.substr(at);
  return readResults(tmp, run, outputs, bench, "the emulated program", medianMs)
             ? kExitOk
             : kExitError;
}

int executeCuda(const CudaArtifact &art, std::vector<HostTensor> &args,
                std::vector<HostTensor> &outputs, unsigned bench,
                double &medianMs) {
  TempDir tmp;
  if (!tmp.usable())
    return kExitError;
  auto manifest = llvm::json::parse(art.manifest);
  llvm::json::Object *root = manifest ? manifest->getAsObject() : nullptr;
  if (!root) {
    llvm::consumeError(manifest.takeError());
    llvm::errs() << "error: internal error: unreadable CUDA manifest\n";
    return kExitError;
  }
  std::string ptx = root->getString("ptx").value_or("model.ptx").str();
  if (!writeFile(tmp.file(ptx), art.ptx) ||
      !writeFile(tmp.file("model.json"), art.manifest))
    return kExitError;
  if (auto cubin = root->getString("cubin"))
    if (!writeFile(tmp.file(*cubin), art.cubin))
      return kExitError;
  cascade_model *model = nullptr;
  if (cascade_status s =
          cascade_cuda_model_load(tmp.file("model.json").c_str(), &model);
      s != CASCADE_OK) {
    llvm::errs() << "error: " << cascade_last_error() << "\n";
    return s == CASCADE_UNAVAILABLE ? kExitSkip : kExitError;
  }
  std::unique_ptr<cascade_model, void (*)(cascade_model *)> owner(
      model, cascade_model_free);
  std::vector<void *> buffers = bufferList(args, outputs);
  if (!runOnce(model, buffers))
    return kExitError;
  llvm::errs() << "note: ran on " << cascade_model_device(model) << "\n";
  if (bench > 0 &&
      cascade_model_device_time(model, (int)bench, &medianMs) != CASCADE_OK) {
    llvm::errs() << "error: " << cascade_last_error() << "\n";
    return kExitError;
  }
  return kExitOk;
}

std::string webGpuRuntimeDir() {
  if (const char *env = std::getenv("CASCADE_WEBGPU_RUNTIME"))
    return env;
  return CASCADE_WEBGPU_RUNTIME_DIR;
}

std::string readWebGpuRuntimeModule() {
  std::string path = webGpuRuntimeDir() + "/cascade-webgpu.mjs";
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    llvm::errs() << path << ": error: cannot read the WebGPU runtime module "
                 << "(set CASCADE_WEBGPU_RUNTIME to runtime/webgpu)\n";
    return "";
  }
  return (*buffer)->getBuffer().str();
}

bool findWebGpuRunner(WebGpuRunner &runner, std::string &error) {
  auto node = llvm::sys::findProgramByName("node");
  if (!node) {
    error = "node is not installed: WebGPU models run in node with the npm "
            "package 'webgpu' (scripts/install-deps.sh installs both)";
    return false;
  }
  runner.node = *node;
  runner.runtimeDir = webGpuRuntimeDir();
  if (!llvm::sys::fs::exists(runner.runtimeDir +
                             "/node_modules/webgpu/package.json")) {
    error = "the npm package 'webgpu' (Dawn) is not installed in " +
            runner.runtimeDir + " (run: npm ci --prefix " + runner.runtimeDir +
            ")";
    return false;
  }
  return true;
}

int executeWebGpu(const WebGpuArtifact &art, const WebGpuRunner &runner,
                  const std::vector<HostTensor> &args,
                  std::vector<HostTensor> &outputs, unsigned bench,
                  double &medianMs) {
  TempDir tmp;
  if (!tmp.usable())
    return kExitError;
  for (const auto &[file, code] : art.wgsl)
    if (!writeFile(tmp.file(file), code))
      return kExitError;
  std::string manifest = tmp.file("model.json");
  if (!writeFile(manifest, art.manifest))
    return kExitError;
  // Dawn's GL backend reports its own limit adjustments on stderr.
  auto dawnNoise = [](llvm::StringRef line) {
    return line.starts_with("Warning: maxDynamic");
  };
  ProgramRun run;
  if (!runOnNpyFiles(
          tmp, {runner.node, runner.runtimeDir + "/node/run.mjs", manifest},
          args, bench, dawnNoise, run))
    return kExitError;
  if (run.rc == kExitSkip)
    return kExitSkip;
  if (run.rc != 0) {
    llvm::errs() << "error: the WebGPU run failed (" << howItEnded(run)
                 << ")\n";
    return kExitError;
  }
  if (std::optional<llvm::StringRef> adapter =
          printedValue(run.stdoutText, "adapter"))
    llvm::errs() << "note: ran on " << *adapter << "\n";
  return readResults(tmp, run, outputs, bench, "the WebGPU driver", medianMs)
             ? kExitOk
             : kExitError;
}

} // namespace cascade
