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
    llvm::errs() << "error: " << cascade_last_error() << "\n";
    return false;
  }
  std::unique_ptr<float, void (*)(void *)> owner(data, cascade_free);
  if (std::vector<int64_t>(shape, shape + rank) != t.shape) {
    llvm::errs() << path << ": error: the emulated program wrote a tensor of "
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

} // namespace

int executeInProcess(const CpuArtifact &art, std::vector<HostTensor> &args,
                     std::vector<HostTensor> &outputs, unsigned bench,
                     double &medianMs) {
  TempDir tmp;
  if (!tmp.ok) {
    llvm::errs() << "error: cannot create a temporary folder\n";
    return kExitError;
  }
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
  if (bench == 0)
    return kExitOk;
  cascade_model_run(model, buffers.data()); // warm-up
  std::vector<double> times;
  for (unsigned i = 0; i < bench; ++i) {
    double t0 = cascade_now_ms();
    cascade_model_run(model, buffers.data());
    times.push_back(cascade_now_ms() - t0);
  }
  medianMs = median(times);
  return kExitOk;
}

int executeEmulated(const CpuArtifact &art,
                    const std::vector<std::string> &emulator,
                    const std::vector<HostTensor> &args,
                    std::vector<HostTensor> &outputs, unsigned bench,
                    double &medianMs) {
  TempDir tmp;
  if (!tmp.ok) {
    llvm::errs() << "error: cannot create a temporary folder\n";
    return kExitError;
  }
  std::string exe = writeAndLink(tmp, art, "model", true);
  if (exe.empty())
    return kExitError;
  std::string in = tmp.file("in"), out = tmp.file("out");
  if (llvm::sys::fs::create_directory(in) ||
      llvm::sys::fs::create_directory(out)) {
    llvm::errs() << "error: cannot create a temporary folder\n";
    return kExitError;
  }
  std::vector<std::string> command = emulator;
  command.push_back(exe);
  for (const HostTensor &t : args) {
    if (!writeTensor(in, t))
      return kExitError;
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
  std::string msg;
  int rc = llvm::sys::ExecuteAndWait(command[0], argv, std::nullopt, redirects,
                                     0, 0, &msg);
  // The program reports `PATH: error: message`; its path is a temporary
  // file of no interest to the user.
  llvm::SmallVector<llvm::StringRef> lines;
  std::string errText = readText(stderrFile);
  llvm::StringRef(errText).split(lines, '\n', -1, false);
  for (llvm::StringRef line : lines) {
    size_t at = line.find(": error: ");
    if (at != llvm::StringRef::npos && !line.take_front(at).contains(' '))
      line = line.drop_front(at + 2);
    llvm::errs() << line << "\n";
  }
  if (rc != 0) {
    llvm::errs() << "error: the " << art.machine.arch << " program failed "
                 << "under " << llvm::sys::path::filename(emulator[0]) << " ("
                 << (msg.empty() ? "exit code " + std::to_string(rc) : msg)
                 << ")\n";
    return kExitError;
  }
  for (HostTensor &t : outputs)
    if (!readOutput(out, t))
      return kExitError;
  if (bench > 0) {
    // The program times its runs itself: `median_ms=X` on stdout.
    std::string text = readText(stdoutFile);
    size_t at = text.find("median_ms=");
    double value = 0;
    if (at == std::string::npos ||
        !llvm::to_float(llvm::StringRef(text).drop_front(at + 10).take_until(
                            [](char c) { return c == '\n'; }),
                        value)) {
      llvm::errs() << "error: the emulated program printed no median_ms\n";
      return kExitError;
    }
    medianMs = value;
  }
  return kExitOk;
}

int executeCuda(const CudaArtifact &art, std::vector<HostTensor> &args,
                std::vector<HostTensor> &outputs, unsigned bench,
                double &medianMs) {
  TempDir tmp;
  if (!tmp.ok) {
    llvm::errs() << "error: cannot create a temporary folder\n";
    return kExitError;
  }
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

} // namespace cascade
