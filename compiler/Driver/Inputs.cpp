//===- Inputs.cpp - Tensors for `cascade run`
//------------------------------===//
#include "compiler/Driver/Inputs.h"
#include "cascade/runtime.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>

using namespace mlir;

namespace cascade {

static std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int prepareArguments(func::FuncOp model,
                     const std::vector<std::string> &inputFlags,
                     bool randomInputs, uint64_t seed,
                     std::vector<HostTensor> &args,
                     std::vector<std::string> &generated) {
  std::map<std::string, std::string> files;
  int rc = 0;
  auto fail = [&](int code) { rc = std::max(rc, code); };
  for (const std::string &flag : inputFlags) {
    size_t eq = flag.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size()) {
      llvm::errs() << "error: --input expects NAME=FILE.npy, got '" << flag
                   << "'\n";
      return 2;
    }
    std::string name = flag.substr(0, eq);
    if (!files.insert({name, flag.substr(eq + 1)}).second) {
      llvm::errs() << "error: --input " << name << " given twice\n";
      return 2;
    }
  }
  for (unsigned i = 0; i < model.getNumArguments(); ++i) {
    HostTensor t;
    t.name = model.getArgAttrOfType<StringAttr>(i, attrs::kName).str();
    t.role = model.getArgAttrOfType<StringAttr>(i, attrs::kRole).str();
    auto type = cast<RankedTensorType>(model.getArgumentTypes()[i]);
    t.shape.assign(type.getShape().begin(), type.getShape().end());
    auto it = files.find(t.name);
    if (it != files.end()) {
      float *data = nullptr;
      int64_t shape[CASCADE_MAX_RANK];
      int rank = 0;
      if (cascade_npy_read_f32(it->second.c_str(), &data, shape, &rank) !=
          CASCADE_OK) {
        llvm::errs() << "error: " << cascade_last_error() << "\n";
        fail(1);
      } else {
        llvm::ArrayRef<int64_t> got(shape, rank);
        if (got != llvm::ArrayRef<int64_t>(t.shape)) {
          llvm::errs() << it->second << ": error: " << t.role << " '" << t.name
                       << "' expects shape " << shapeText(t.shape)
                       << ", the file has " << shapeText(got) << "\n";
          fail(1);
        } else {
          t.data.assign(data, data + type.getNumElements());
        }
        cascade_free(data);
      }
      files.erase(it);
    } else if (randomInputs) {
      t.data.resize(type.getNumElements());
      cascade_fill_normal(t.data.data(), t.data.size(), seed, i);
      generated.push_back(t.name);
    } else {
      llvm::errs() << "error: no value for " << t.role << " '" << t.name << "' "
                   << shapeText(t.shape) << ": pass --input " << t.name
                   << "=FILE.npy or --random-inputs\n";
      fail(2);
    }
    args.push_back(std::move(t));
  }
  for (auto &[name, file] : files) {
    llvm::errs() << "error: --input " << name << "=" << file
                 << ": the model has no input or weight '" << name << "'\n";
    fail(2);
  }
  return rc;
}

bool writeTensor(const std::string &dir, const HostTensor &t) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    llvm::errs() << dir << ": error: cannot create directory: " << ec.message()
                 << "\n";
    return false;
  }
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, t.name + ".npy");
  if (cascade_npy_write_f32(path.c_str(), t.data.data(), t.shape.data(),
                            (int)t.shape.size()) != CASCADE_OK) {
    llvm::errs() << "error: " << cascade_last_error() << "\n";
    return false;
  }
  return true;
}

} // namespace cascade
