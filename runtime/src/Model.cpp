//===- Model.cpp - Loading and running compiled models --------------------===//

#include "Cuda.h"
#include "Internal.h"

#include <cstring>
#include <dlfcn.h>
#include <new>

using namespace cascade::rt;

static bool validRole(cascade_role role) {
  return role == CASCADE_INPUT || role == CASCADE_WEIGHT ||
         role == CASCADE_OUTPUT;
}

extern "C" cascade_status cascade_model_from_symbols(const char *manifest_json,
                                                     void (*entry)(void **),
                                                     cascade_model **out) {
  if (!out)
    return fail("cascade_model_from_symbols: NULL output pointer");
  *out = nullptr;
  if (!entry)
    return fail("cascade_model_from_symbols: NULL entry function");
  cascade_model *model = new (std::nothrow) cascade_model;
  if (!model)
    return fail("out of memory");
  if (parseManifest(manifest_json, model->manifest) != CASCADE_OK ||
      checkCpu(model->manifest) != CASCADE_OK) {
    delete model;
    return CASCADE_ERROR;
  }
  model->entry = entry;
  *out = model;
  return CASCADE_OK;
}

extern "C" cascade_status cascade_model_load(const char *path,
                                             cascade_model **out) {
  if (!out)
    return fail("cascade_model_load: NULL output pointer");
  *out = nullptr;
  if (!path)
    return fail("cascade_model_load: NULL path");
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    return fail("cannot load model '%s': %s", path,
                why ? why : "dlopen failed");
  }
  const char *manifest =
      static_cast<const char *>(dlsym(lib, "cascade_manifest"));
  // dlsym returns a data address as void*; converting it to a function
  // pointer is what POSIX requires to work.
  void *entrySym = dlsym(lib, "cascade_entry");
  if (!manifest || !entrySym) {
    dlclose(lib);
    return fail("'%s' is not a Cascade model: symbol %s not found", path,
                manifest ? "cascade_entry" : "cascade_manifest");
  }
  void (*entry)(void **);
  static_assert(sizeof(entry) == sizeof(entrySym), "function pointer size");
  std::memcpy(&entry, &entrySym, sizeof(entry));
  if (cascade_model_from_symbols(manifest, entry, out) != CASCADE_OK) {
    std::string why = cascade_last_error();
    dlclose(lib);
    return fail("'%s': %s", path, why.c_str());
  }
  (*out)->library = lib;
  if (!(*out)->manifest.profile.empty()) {
    auto *counters = static_cast<int64_t *>(dlsym(lib, "cascade_profile"));
    if (cascade_model_attach_profile(*out, counters) != CASCADE_OK) {
      std::string why = cascade_last_error();
      cascade_model_free(*out);
      *out = nullptr;
      return fail("'%s': %s", path, why.c_str());
    }
  }
  return CASCADE_OK;
}

extern "C" int cascade_model_count(const cascade_model *model,
                                   cascade_role role) {
  if (!model || !validRole(role))
    return -1;
  return static_cast<int>(model->manifest.tensors[role].size());
}

extern "C" cascade_status cascade_model_info(const cascade_model *model,
                                             cascade_role role, int index,
                                             cascade_tensor_info *out) {
  if (!model || !out)
    return fail("cascade_model_info: NULL argument");
  if (!validRole(role))
    return fail("cascade_model_info: invalid role %d", static_cast<int>(role));
  const auto &list = model->manifest.tensors[role];
  if (index < 0 || static_cast<size_t>(index) >= list.size())
    return fail("cascade_model_info: index %d out of range (model has %zu)",
                index, list.size());
  const TensorDesc &t = list[index];
  out->name = t.name.c_str();
  out->rank = static_cast<int>(t.shape.size());
  out->shape = t.shape.data();
  out->num_elements = t.numElements;
  out->dtype = t.dtype.c_str();
  out->weight_key = role == CASCADE_WEIGHT ? t.key.c_str() : nullptr;
  out->weight_file = t.hasFile ? t.file.c_str() : nullptr;
  return CASCADE_OK;
}

extern "C" int cascade_model_find(const cascade_model *model, cascade_role role,
                                  const char *name) {
  if (!model || !validRole(role) || !name)
    return -1;
  const auto &list = model->manifest.tensors[role];
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i].name == name)
      return static_cast<int>(i);
  return -1;
}

extern "C" const char *cascade_model_name(const cascade_model *model) {
  return model ? model->manifest.model.c_str() : "";
}

extern "C" cascade_status cascade_model_run(cascade_model *model,
                                            void *const *buffers) {
  if (!model)
    return fail("cascade_model_run: NULL model");
  if (!buffers)
    return fail("cascade_model_run: NULL buffer array");
  // Copy the array: the entry takes void ** and must not be able to change
  // the caller's pointers.
  std::vector<void *> args;
  args.reserve(1); // keep args.data() non-NULL for a model with no tensors
  static const char *const kRoleNames[3] = {"input", "weight", "output"};
  for (int role = 0; role < 3; ++role)
    for (const TensorDesc &t : model->manifest.tensors[role]) {
      void *p = buffers[args.size()];
      if (!p && t.numElements != 0)
        return fail("cascade_model_run: NULL buffer for %s '%s'",
                    kRoleNames[role], t.name.c_str());
      args.push_back(p);
    }
  if (model->cuda)
    return cudaRun(*model->cuda, args.data());
  if (!model->profile) {
    model->entry(args.data());
    return CASCADE_OK;
  }
  double t0 = cascade_now_ms();
  model->entry(args.data());
  model->profileNs += static_cast<int64_t>((cascade_now_ms() - t0) * 1e6);
  ++model->profileRuns;
  return CASCADE_OK;
}

extern "C" cascade_status cascade_cuda_available(void) {
  return cudaAvailable();
}

extern "C" cascade_status cascade_cuda_model_load(const char *manifest_path,
                                                  cascade_model **out) {
  if (!out)
    return fail("cascade_cuda_model_load: NULL output pointer");
  *out = nullptr;
  if (!manifest_path)
    return fail("cascade_cuda_model_load: NULL path");
  cascade_model *model = new (std::nothrow) cascade_model;
  if (!model)
    return fail("out of memory");
  cascade_status s = cudaLoad(manifest_path, model->manifest, model->cuda);
  if (s != CASCADE_OK) {
    delete model;
    return s;
  }
  model->device = cudaDeviceName(*model->cuda);
  *out = model;
  return CASCADE_OK;
}

extern "C" cascade_status
cascade_model_device_time(cascade_model *model, int runs, double *median_ms) {
  if (!model || !median_ms || runs < 1)
    return fail("cascade_model_device_time: bad argument");
  if (!model->cuda)
    return fail("cascade_model_device_time: model '%s' runs on the CPU; "
                "time cascade_model_run instead",
                model->manifest.model.c_str());
  return cudaTime(*model->cuda, runs, median_ms);
}

extern "C" const char *cascade_model_device(const cascade_model *model) {
  return model ? model->device.c_str() : "";
}

extern "C" void cascade_model_free(cascade_model *model) {
  if (!model)
    return;
  if (model->library)
    dlclose(model->library);
  cudaFree(model->cuda);
  delete model;
}
