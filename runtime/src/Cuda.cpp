//===- Cuda.cpp - Running CUDA models through the driver API --------------===//
//
// The CUDA driver is loaded with dlopen at run time (no link-time
// dependency, no CUDA headers needed to build): libcuda.so.1, or the file
// named by $CASCADE_CUDA_LIBRARY. A model compiled with --target=cuda is a
// manifest, a PTX module and optionally a cubin; the manifest lists scratch
// buffers and the kernel launches in order, each argument a model tensor, a
// scratch buffer or a constant. Running a model copies inputs and weights to
// the device, replays the launches, synchronizes and copies the outputs
// back. Every driver error is reported with its name.
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"
#include "Json.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <memory>
#include <sstream>

namespace cascade {
namespace rt {
namespace {

// The few driver types and constants used here, as in cuda.h.
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUevent = struct CUevent_st *;
using CUstream = struct CUstream_st *;
constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;
constexpr CUresult CUDA_ERROR_STUB_LIBRARY = 34;
constexpr CUresult CUDA_ERROR_INSUFFICIENT_DRIVER = 35;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;

struct Driver {
  void *lib = nullptr;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                                 void **);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);

  CUdevice device = 0;
  CUcontext context = nullptr;
  int major = 0, minor = 0;
  std::string name;
};

/// Names of the driver errors worth knowing when the driver cannot name
/// them itself (the toolkit's stub library answers every call with 34).
const char *knownErrorName(CUresult r) {
  switch (r) {
  case 1:
    return "CUDA_ERROR_INVALID_VALUE";
  case 2:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case 3:
    return "CUDA_ERROR_NOT_INITIALIZED";
  case 34:
    return "CUDA_ERROR_STUB_LIBRARY";
  case 35:
    return "CUDA_ERROR_INSUFFICIENT_DRIVER";
  case 100:
    return "CUDA_ERROR_NO_DEVICE";
  case 209:
    return "CUDA_ERROR_NO_BINARY_FOR_GPU";
  case 218:
    return "CUDA_ERROR_INVALID_PTX";
  case 222:
    return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
  case 500:
    return "CUDA_ERROR_NOT_FOUND";
  case 700:
    return "CUDA_ERROR_ILLEGAL_ADDRESS";
  case 701:
    return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
  case 702:
    return "CUDA_ERROR_LAUNCH_TIMEOUT";
  case 719:
    return "CUDA_ERROR_LAUNCH_FAILED";
  default:
    return nullptr;
  }
}

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)" for a driver result.
std::string errorText(const Driver &d, CUresult r) {
  const char *name = nullptr, *text = nullptr;
  if (d.cuGetErrorName && d.cuGetErrorName(r, &name) != CUDA_SUCCESS)
    name = nullptr;
  if (d.cuGetErrorString && d.cuGetErrorString(r, &text) != CUDA_SUCCESS)
    text = nullptr;
  if (!name)
    name = knownErrorName(r);
  if (!text && r == CUDA_ERROR_STUB_LIBRARY)
    text = "the CUDA driver is the toolkit's stub library, not a real driver";
  std::string out = name ? name : format("CUDA error %d", r);
  return text ? out + " (" + text + ")" : out;
}

/// The driver, loaded and initialized once per process. On failure the
/// status is CASCADE_UNAVAILABLE (no driver or device: skip) or
/// CASCADE_ERROR, with the message in `why`.
struct DriverState {
  Driver driver;
  cascade_status status = CASCADE_ERROR;
  std::string why;
};

template <typename F> bool bind(void *lib, const char *name, F &fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

DriverState loadDriver() {
  DriverState s;
  Driver &d = s.driver;
  const char *path = std::getenv("CASCADE_CUDA_LIBRARY");
  if (!path || !*path)
    path = "libcuda.so.1";
  d.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!d.lib) {
    const char *e = dlerror();
    s.status = CASCADE_UNAVAILABLE;
    s.why = format("no CUDA device: cannot load the CUDA driver %s: %s", path,
                   e ? e : "dlopen failed");
    return s;
  }
  // Versioned entry points: the unversioned names are the CUDA 3 ABI.
  bool ok =
      bind(d.lib, "cuInit", d.cuInit) &&
      bind(d.lib, "cuDeviceGetCount", d.cuDeviceGetCount) &&
      bind(d.lib, "cuDeviceGet", d.cuDeviceGet) &&
      bind(d.lib, "cuDeviceGetName", d.cuDeviceGetName) &&
      bind(d.lib, "cuDeviceGetAttribute", d.cuDeviceGetAttribute) &&
      bind(d.lib, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain) &&
      bind(d.lib, "cuDevicePrimaryCtxRelease_v2",
           d.cuDevicePrimaryCtxRelease) &&
      bind(d.lib, "cuCtxSetCurrent", d.cuCtxSetCurrent) &&
      bind(d.lib, "cuModuleLoadDataEx", d.cuModuleLoadDataEx) &&
      bind(d.lib, "cuModuleUnload", d.cuModuleUnload) &&
      bind(d.lib, "cuModuleGetFunction", d.cuModuleGetFunction) &&
      bind(d.lib, "cuMemAlloc_v2", d.cuMemAlloc) &&
      bind(d.lib, "cuMemFree_v2", d.cuMemFree) &&
      bind(d.lib, "cuMemcpyHtoD_v2", d.cuMemcpyHtoD) &&
      bind(d.lib, "cuMemcpyDtoH_v2", d.cuMemcpyDtoH) &&
      bind(d.lib, "cuLaunchKernel", d.cuLaunchKernel) &&
      bind(d.lib, "cuCtxSynchronize", d.cuCtxSynchronize) &&
      bind(d.lib, "cuEventCreate", d.cuEventCreate) &&
      bind(d.lib, "cuEventRecord", d.cuEventRecord) &&
      bind(d.lib, "cuEventSynchronize", d.cuEventSynchronize) &&
      bind(d.lib, "cuEventElapsedTime_v2", d.cuEventElapsedTime) &&
      bind(d.lib, "cuEventDestroy_v2", d.cuEventDestroy) &&
      bind(d.lib, "cuGetErrorName", d.cuGetErrorName) &&
      bind(d.lib, "cuGetErrorString", d.cuGetErrorString);
  if (!ok) {
    // An older driver may lack cuEventElapsedTime_v2 (CUDA 12.8+).
    if (!d.cuEventElapsedTime)
      ok = bind(d.lib, "cuEventElapsedTime", d.cuEventElapsedTime);
    ok = ok && d.cuInit && d.cuMemAlloc && d.cuLaunchKernel &&
         d.cuGetErrorName && d.cuEventDestroy;
  }
  if (!ok) {
    s.why = format("the CUDA driver %s lacks a driver API function this "
                   "runtime needs (driver too old?)",
                   path);
    s.status = CASCADE_UNAVAILABLE;
    return s;
  }
  CUresult r = d.cuInit(0);
  if (r == CUDA_ERROR_NO_DEVICE || r == CUDA_ERROR_STUB_LIBRARY ||
      r == CUDA_ERROR_INSUFFICIENT_DRIVER) {
    s.status = CASCADE_UNAVAILABLE;
    s.why = "no CUDA device: cuInit: " + errorText(d, r);
    return s;
  }
  if (r != CUDA_SUCCESS) {
    s.why = "cuInit: " + errorText(d, r);
    return s;
  }
  int count = 0;
  r = d.cuDeviceGetCount(&count);
  if (r != CUDA_SUCCESS || count == 0) {
    s.status = CASCADE_UNAVAILABLE;
    s.why = r != CUDA_SUCCESS ? "no CUDA device: " + errorText(d, r)
                              : "no CUDA device: the driver reports none";
    return s;
  }
  char name[256] = {0};
  if ((r = d.cuDeviceGet(&d.device, 0)) != CUDA_SUCCESS ||
      (r = d.cuDeviceGetName(name, sizeof name - 1, d.device)) !=
          CUDA_SUCCESS ||
      (r = d.cuDeviceGetAttribute(&d.major,
                                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                                  d.device)) != CUDA_SUCCESS ||
      (r = d.cuDeviceGetAttribute(&d.minor,
                                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                                  d.device)) != CUDA_SUCCESS ||
      (r = d.cuDevicePrimaryCtxRetain(&d.context, d.device)) != CUDA_SUCCESS) {
    s.why = "CUDA device 0: " + errorText(d, r);
    return s;
  }
  d.name = name;
  s.status = CASCADE_OK;
  return s;
}

DriverState &driverState() {
  static DriverState state = loadDriver();
  return state;
}

/// The driver with the primary context current on this thread.
cascade_status useDriver(Driver *&out) {
  DriverState &s = driverState();
  if (s.status != CASCADE_OK) {
    fail("%s", s.why.c_str());
    return s.status;
  }
  CUresult r = s.driver.cuCtxSetCurrent(s.driver.context);
  if (r != CUDA_SUCCESS)
    return fail("cuCtxSetCurrent: %s", errorText(s.driver, r).c_str());
  out = &s.driver;
  return CASCADE_OK;
}

bool readFile(const std::string &path, std::string &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return !in.bad();
}

std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

/// A file name the manifest refers to: plain, inside the model's folder.
bool plainFileName(const std::string &name) {
  return !name.empty() && name[0] != '.' && name.find('/') == std::string::npos;
}

} // namespace

/// One launch of the manifest's list.
struct KernelLaunch {
  std::string name;
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  unsigned sharedBytes = 0;
  enum Kind { Tensor, Scratch, I64, F32 };
  struct Arg {
    Kind kind;
    size_t index = 0; // Tensor: position in the buffer list; Scratch
    int64_t i = 0;
    float f = 0;
  };
  std::vector<Arg> args;
  CUfunction function = nullptr;
};

struct CudaModel {
  Driver *driver = nullptr;
  CUmodule module = nullptr;
  std::vector<KernelLaunch> launches;
  std::vector<size_t> tensorBytes; // inputs, weights, outputs
  std::vector<CUdeviceptr> tensors;
  std::vector<int64_t> scratchBytes;
  std::vector<CUdeviceptr> scratch;
  size_t numOutputs = 0;
  std::string loadedFrom; // "cubin" or "PTX"
};

namespace {

cascade_status parseLaunches(const JsonValue &root, const Manifest &m,
                             CudaModel &model) {
  const JsonValue *scratch = root.get("scratch");
  if (scratch) {
    if (scratch->kind != JsonValue::Array)
      return fail("invalid manifest: \"scratch\" must be an array");
    for (const JsonValue &v : scratch->items) {
      int64_t bytes = 0;
      if (!toInt64(v, bytes) || bytes < 0)
        return fail("invalid manifest: scratch sizes must be non-negative "
                    "integers");
      model.scratchBytes.push_back(bytes);
    }
  }
  const JsonValue *kernels = root.get("kernels");
  if (!kernels || kernels->kind != JsonValue::Array)
    return fail("invalid manifest: a CUDA manifest needs a \"kernels\" "
                "array");
  for (const JsonValue &k : kernels->items) {
    KernelLaunch l;
    const JsonValue *name = k.get("name");
    if (k.kind != JsonValue::Object || !name ||
        name->kind != JsonValue::String || name->text.empty())
      return fail("invalid manifest: every kernel needs a \"name\"");
    l.name = name->text;
    for (const char *key : {"grid", "block"}) {
      const JsonValue *dims = k.get(key);
      if (!dims || dims->kind != JsonValue::Array || dims->items.size() != 3)
        return fail("invalid manifest: kernel '%s': \"%s\" must hold 3 "
                    "sizes",
                    l.name.c_str(), key);
      for (int i = 0; i < 3; ++i) {
        int64_t v = 0;
        if (!toInt64(dims->items[i], v) || v < 1 || v > 0x7fffffff)
          return fail("invalid manifest: kernel '%s': bad %s size",
                      l.name.c_str(), key);
        (key[0] == 'g' ? l.grid : l.block)[i] = static_cast<unsigned>(v);
      }
    }
    if (const JsonValue *shared = k.get("shared_bytes")) {
      int64_t v = 0;
      if (!toInt64(*shared, v) || v < 0 || v > (1 << 30))
        return fail("invalid manifest: kernel '%s': bad shared_bytes",
                    l.name.c_str());
      l.sharedBytes = static_cast<unsigned>(v);
    }
    const JsonValue *args = k.get("args");
    if (!args || args->kind != JsonValue::Array)
      return fail("invalid manifest: kernel '%s': missing \"args\"",
                  l.name.c_str());
    for (const JsonValue &a : args->items) {
      if (a.kind != JsonValue::Object || a.keys.size() != 1)
        return fail("invalid manifest: kernel '%s': each argument is an "
                    "object with one key",
                    l.name.c_str());
      KernelLaunch::Arg arg{};
      const std::string &kind = a.keys[0];
      const JsonValue &v = a.items[0];
      if (kind == "tensor") {
        arg.kind = KernelLaunch::Tensor;
        bool found = false;
        size_t index = 0;
        for (int role = 0; role < 3 && !found; ++role)
          for (const TensorDesc &t : m.tensors[role]) {
            if (v.kind == JsonValue::String && t.name == v.text) {
              found = true;
              break;
            }
            ++index;
          }
        if (!found)
          return fail("invalid manifest: kernel '%s': unknown tensor "
                      "argument",
                      l.name.c_str());
        arg.index = index;
      } else if (kind == "scratch") {
        int64_t i = 0;
        if (!toInt64(v, i) || i < 0 ||
            static_cast<size_t>(i) >= model.scratchBytes.size())
          return fail("invalid manifest: kernel '%s': bad scratch index",
                      l.name.c_str());
        arg.kind = KernelLaunch::Scratch;
        arg.index = static_cast<size_t>(i);
      } else if (kind == "i64") {
        if (!toInt64(v, arg.i))
          return fail("invalid manifest: kernel '%s': bad i64 argument",
                      l.name.c_str());
        arg.kind = KernelLaunch::I64;
      } else if (kind == "f32") {
        if (v.kind != JsonValue::Number)
          return fail("invalid manifest: kernel '%s': bad f32 argument",
                      l.name.c_str());
        arg.kind = KernelLaunch::F32;
        arg.f = std::strtof(v.text.c_str(), nullptr);
      } else {
        return fail("invalid manifest: kernel '%s': unknown argument kind "
                    "\"%s\"",
                    l.name.c_str(), kind.c_str());
      }
      l.args.push_back(arg);
    }
    model.launches.push_back(std::move(l));
  }
  return CASCADE_OK;
}

#define CU_CHECK(call, what)                                                   \
  do {                                                                         \
    CUresult r_ = (call);                                                      \
    if (r_ != CUDA_SUCCESS)                                                    \
      return fail("%s: %s", what, errorText(*d, r_).c_str());                  \
  } while (0)

} // namespace

cascade_status cudaAvailable() {
  Driver *d = nullptr;
  return useDriver(d);
}

cascade_status cudaLoad(const std::string &manifestPath, Manifest &manifest,
                        CudaModel *&out) {
  out = nullptr;
  std::string text;
  if (!readFile(manifestPath, text))
    return fail("%s: cannot read the manifest", manifestPath.c_str());
  if (parseManifest(text.c_str(), manifest) != CASCADE_OK)
    return fail("%s: %s", manifestPath.c_str(), cascade_last_error());
  if (manifest.target != "cuda")
    return fail("%s: model '%s' was compiled for %s, not cuda",
                manifestPath.c_str(), manifest.model.c_str(),
                manifest.target.empty() ? "a CPU" : manifest.target.c_str());
  JsonValue root;
  JsonParser parser(text.c_str());
  if (!parser.parse(root))
    return fail("%s: invalid manifest", manifestPath.c_str());
  auto model = std::make_unique<CudaModel>();
  // Whatever was allocated when a later step fails is freed.
  struct Release {
    std::unique_ptr<CudaModel> &m;
    ~Release() {
      if (m)
        cudaFree(m.release());
    }
  } release{model};
  if (parseLaunches(root, manifest, *model) != CASCADE_OK)
    return fail("%s: %s", manifestPath.c_str(), cascade_last_error());

  Driver *d = nullptr;
  if (cascade_status s = useDriver(d); s != CASCADE_OK)
    return s;
  model->driver = d;

  // The cubin when it was built for this device, else the PTX (the driver
  // compiles it for whatever GPU this is).
  std::string dir = directoryOf(manifestPath), image, arch;
  const JsonValue *archV = root.get("arch");
  if (archV && archV->kind == JsonValue::String)
    arch = archV->text;
  const JsonValue *cubin = root.get("cubin");
  std::string deviceArch = format("sm_%d%d", d->major, d->minor);
  if (cubin && cubin->kind == JsonValue::String && arch == deviceArch &&
      plainFileName(cubin->text) && readFile(dir + "/" + cubin->text, image)) {
    model->loadedFrom = "cubin";
  } else {
    const JsonValue *ptx = root.get("ptx");
    if (!ptx || ptx->kind != JsonValue::String || !plainFileName(ptx->text))
      return fail("%s: invalid manifest: missing \"ptx\" file name",
                  manifestPath.c_str());
    if (!readFile(dir + "/" + ptx->text, image))
      return fail("%s/%s: cannot read the PTX", dir.c_str(), ptx->text.c_str());
    image.push_back('\0');
    model->loadedFrom = "PTX";
  }
  CU_CHECK(
      d->cuModuleLoadDataEx(&model->module, image.data(), 0, nullptr, nullptr),
      "cuModuleLoadDataEx");
  for (KernelLaunch &l : model->launches)
    if (CUresult r =
            d->cuModuleGetFunction(&l.function, model->module, l.name.c_str());
        r != CUDA_SUCCESS)
      return fail("kernel '%s': cuModuleGetFunction: %s", l.name.c_str(),
                  errorText(*d, r).c_str());

  for (int role = 0; role < 3; ++role)
    for (const TensorDesc &t : manifest.tensors[role]) {
      size_t bytes = static_cast<size_t>(t.numElements) * sizeof(float);
      CUdeviceptr p = 0;
      if (bytes)
        CU_CHECK(d->cuMemAlloc(&p, bytes), "cuMemAlloc");
      model->tensorBytes.push_back(bytes);
      model->tensors.push_back(p);
    }
  model->numOutputs = manifest.tensors[CASCADE_OUTPUT].size();
  for (int64_t bytes : model->scratchBytes) {
    CUdeviceptr p = 0;
    if (bytes)
      CU_CHECK(d->cuMemAlloc(&p, static_cast<size_t>(bytes)), "cuMemAlloc");
    model->scratch.push_back(p);
  }
  out = model.release();
  return CASCADE_OK;
}

namespace {
cascade_status launchAll(CudaModel &m) {
  Driver *d = m.driver;
  for (KernelLaunch &l : m.launches) {
    std::vector<CUdeviceptr> ptrs(l.args.size());
    std::vector<int64_t> ints(l.args.size());
    std::vector<float> floats(l.args.size());
    std::vector<void *> params(l.args.size());
    for (size_t i = 0; i < l.args.size(); ++i) {
      const KernelLaunch::Arg &a = l.args[i];
      switch (a.kind) {
      case KernelLaunch::Tensor:
        ptrs[i] = m.tensors[a.index];
        params[i] = &ptrs[i];
        break;
      case KernelLaunch::Scratch:
        ptrs[i] = m.scratch[a.index];
        params[i] = &ptrs[i];
        break;
      case KernelLaunch::I64:
        ints[i] = a.i;
        params[i] = &ints[i];
        break;
      case KernelLaunch::F32:
        floats[i] = a.f;
        params[i] = &floats[i];
        break;
      }
    }
    CUresult r = d->cuLaunchKernel(
        l.function, l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1],
        l.block[2], l.sharedBytes, nullptr,
        params.empty() ? nullptr : params.data(), nullptr);
    if (r != CUDA_SUCCESS)
      return fail("kernel '%s': cuLaunchKernel: %s", l.name.c_str(),
                  errorText(*d, r).c_str());
  }
  return CASCADE_OK;
}
} // namespace

cascade_status cudaRun(CudaModel &m, void *const *buffers) {
  Driver *d = nullptr;
  if (cascade_status s = useDriver(d); s != CASCADE_OK)
    return s;
  size_t numIn = m.tensors.size() - m.numOutputs;
  for (size_t i = 0; i < numIn; ++i)
    if (m.tensorBytes[i])
      CU_CHECK(d->cuMemcpyHtoD(m.tensors[i], buffers[i], m.tensorBytes[i]),
               "cuMemcpyHtoD");
  if (cascade_status s = launchAll(m); s != CASCADE_OK)
    return s;
  CU_CHECK(d->cuCtxSynchronize(), "kernel execution (cuCtxSynchronize)");
  for (size_t i = numIn; i < m.tensors.size(); ++i)
    if (m.tensorBytes[i])
      CU_CHECK(d->cuMemcpyDtoH(buffers[i], m.tensors[i], m.tensorBytes[i]),
               "cuMemcpyDtoH");
  return CASCADE_OK;
}

cascade_status cudaTime(CudaModel &m, int runs, double *medianMs) {
  Driver *d = nullptr;
  if (cascade_status s = useDriver(d); s != CASCADE_OK)
    return s;
  CUevent start = nullptr, stop = nullptr;
  CU_CHECK(d->cuEventCreate(&start, 0), "cuEventCreate");
  CU_CHECK(d->cuEventCreate(&stop, 0), "cuEventCreate");
  std::vector<double> times;
  cascade_status status = launchAll(m); // warm-up
  for (int i = 0; i < runs && status == CASCADE_OK; ++i) {
    d->cuEventRecord(start, nullptr);
    status = launchAll(m);
    d->cuEventRecord(stop, nullptr);
    CUresult r = d->cuEventSynchronize(stop);
    float ms = 0;
    if (r == CUDA_SUCCESS)
      r = d->cuEventElapsedTime(&ms, start, stop);
    if (r != CUDA_SUCCESS && status == CASCADE_OK)
      status = fail("timing: %s", errorText(*d, r).c_str());
    times.push_back(ms);
  }
  d->cuEventDestroy(start);
  d->cuEventDestroy(stop);
  if (status != CASCADE_OK)
    return status;
  std::sort(times.begin(), times.end());
  *medianMs = times.empty() ? 0 : times[times.size() / 2];
  return CASCADE_OK;
}

std::string cudaDeviceName(const CudaModel &m) {
  return format("%s (sm_%d%d, loaded from %s)", m.driver->name.c_str(),
                m.driver->major, m.driver->minor, m.loadedFrom.c_str());
}

void cudaFree(CudaModel *m) {
  if (!m)
    return;
  Driver *d = nullptr;
  if (useDriver(d) == CASCADE_OK) {
    for (CUdeviceptr p : m->tensors)
      if (p)
        d->cuMemFree(p);
    for (CUdeviceptr p : m->scratch)
      if (p)
        d->cuMemFree(p);
    if (m->module)
      d->cuModuleUnload(m->module);
  }
  delete m;
}

} // namespace rt
} // namespace cascade
