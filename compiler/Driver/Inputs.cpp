//===- Inputs.cpp - Tensors for `cascade run` -----------------------------===//
#include "compiler/Driver/Inputs.h"
#include "cascade/runtime.h"
#include "compiler/Import/OnnxImport.h"
#include "dialects/Cascade/IR/CascadeOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <map>
#include <set>

using namespace mlir;

namespace cascade {

static std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void reportFileError(const std::string &path) {
  llvm::StringRef msg = cascade_last_error();
  if (msg.starts_with(path + ": "))
    msg = msg.drop_front(path.size() + 2);
  llvm::errs() << path << ": error: " << msg << "\n";
}

void nameTensor(func::FuncOp model, unsigned i, bool result, HostTensor &t) {
  auto attr = [&](StringRef name) {
    return result ? model.getResultAttr(i, name) : model.getArgAttr(i, name);
  };
  t.name = cast<StringAttr>(attr(attrs::kName)).str();
  auto type = cast<RankedTensorType>(result ? model.getResultTypes()[i]
                                            : model.getArgumentTypes()[i]);
  t.shape.assign(type.getShape().begin(), type.getShape().end());
  if (auto ext = dyn_cast_or_null<StringAttr>(attr(attrs::kExternalName))) {
    t.external = ext.str();
    t.file = onnxFileStem(t.external);
  }
  if (auto shape =
          dyn_cast_or_null<DenseI64ArrayAttr>(attr(attrs::kExternalShape)))
    t.fileShape.assign(shape.asArrayRef().begin(), shape.asArrayRef().end());
}

namespace {
/// The safetensors files a run reads, each opened (mapped) once.
class WeightReader {
public:
  explicit WeightReader(const WeightFiles &wf) : wf(wf) {}
  ~WeightReader() {
    for (auto &entry : open)
      cascade_weights_close(entry.second);
  }

  /// The file weight `arg` of `model` comes from, "" if none.
  std::string fileOf(func::FuncOp model, unsigned arg) const {
    if (!wf.override.empty())
      return wf.override;
    auto file = model.getArgAttrOfType<StringAttr>(arg, attrs::kFile);
    if (!file)
      file = model->getAttrOfType<StringAttr>("cascade.weights_file");
    if (!file)
      return "";
    llvm::SmallString<256> path(file.getValue());
    if (llvm::sys::path::is_relative(path) && !wf.modelDir.empty()) {
      path = wf.modelDir;
      llvm::sys::path::append(path, file.getValue());
    }
    return std::string(path);
  }

  /// Reads `key` of `path` into `t` (its shape set); false after a message,
  /// or at once for a file that failed to open before (reported once). A
  /// stored shape that `t`'s only re-views in another layout is a warning
  /// at `decl`, the weight's declaration.
  bool read(const std::string &path, llvm::StringRef key, HostTensor &t,
            Location decl) {
    if (failed.count(path))
      return false;
    auto it = open.find(path);
    if (it == open.end()) {
      cascade_weights *w = nullptr;
      if (cascade_weights_open(path.c_str(), &w) != CASCADE_OK) {
        reportFileError(path);
        failed.insert(path);
        return false;
      }
      it = open.insert({path, w}).first;
    }
    if (cascade_weights_check_layout(it->second, key.str().c_str(),
                                     t.shape.data(),
                                     (int)t.shape.size()) != CASCADE_OK)
      emitWarning(decl) << "weight '" << t.name << "' is "
                        << cascade_last_error()
                        << "; declare the stored layout and index it to "
                           "match (--strict makes this an error)";
    int64_t count = 1;
    for (int64_t d : t.shape)
      count *= d;
    t.data.resize(count);
    if (cascade_weights_read_f32(it->second, key.str().c_str(), t.data.data(),
                                 count) != CASCADE_OK) {
      reportFileError(path);
      return false;
    }
    return true;
  }

private:
  const WeightFiles &wf;
  std::map<std::string, cascade_weights *> open;
  std::set<std::string> failed;
};
} // namespace

int prepareArguments(func::FuncOp model,
                     const std::vector<std::string> &inputFlags,
                     bool randomInputs, uint64_t seed,
                     const WeightFiles &weightFiles,
                     std::vector<HostTensor> &args,
                     std::vector<std::string> &generated) {
  WeightReader weights(weightFiles);
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
    nameTensor(model, i, /*result=*/false, t);
    t.role = model.getArgAttrOfType<StringAttr>(i, attrs::kRole).str();
    auto type = cast<RankedTensorType>(model.getArgumentTypes()[i]);
    auto it = files.find(t.userName());
    if (it != files.end()) {
      float *data = nullptr;
      int64_t shape[CASCADE_MAX_RANK];
      int rank = 0;
      if (cascade_npy_read_f32(it->second.c_str(), &data, shape, &rank) !=
          CASCADE_OK) {
        reportFileError(it->second);
        fail(1);
      } else {
        llvm::ArrayRef<int64_t> got(shape, rank);
        // One number fits any one-element shape ([] or [1, 1]).
        bool scalar = type.getNumElements() == 1 &&
                      llvm::all_of(got, [](int64_t d) { return d == 1; });
        if (got != llvm::ArrayRef<int64_t>(t.shape) && !scalar) {
          llvm::errs() << it->second << ": error: " << t.role << " '"
                       << t.userName() << "' expects shape "
                       << shapeText(t.shape) << ", the file has "
                       << shapeText(got) << "\n";
          fail(1);
        } else {
          t.data.assign(data, data + type.getNumElements());
        }
        cascade_free(data);
      }
      files.erase(it);
    } else if (std::string file =
                   t.role == "weight" ? weights.fileOf(model, i) : "";
               !file.empty()) {
      // A weight with a file is read from it, never drawn at random; an
      // unreadable file is reported once.
      auto key = model.getArgAttrOfType<StringAttr>(i, attrs::kKey);
      if (!weights.read(file, key ? key.getValue() : t.name, t,
                        model.getArgument(i).getLoc()))
        fail(1);
    } else if (randomInputs) {
      t.data.resize(type.getNumElements());
      cascade_fill_normal(t.data.data(), t.data.size(), seed, i);
      generated.push_back(t.name);
    } else {
      llvm::errs() << "error: no value for " << t.role << " '" << t.userName()
                   << "' " << shapeText(t.shape) << ": pass --input "
                   << t.userName() << "=FILE.npy or --random-inputs\n";
      fail(2);
    }
    args.push_back(std::move(t));
  }
  for (auto &[name, file] : files) {
    bool isOutput = false;
    for (unsigned i = 0; i < model.getNumResults(); ++i) {
      HostTensor out;
      nameTensor(model, i, /*result=*/true, out);
      isOutput |= out.userName() == name;
    }
    llvm::errs() << "error: --input " << name << "=" << file << ": ";
    if (isOutput)
      llvm::errs() << "'" << name
                   << "' is an output of the model; --input gives inputs and "
                      "weights (outputs are written to --output-dir)\n";
    else
      llvm::errs() << "the model has no input or weight '" << name << "'\n";
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
  llvm::sys::path::append(path, (t.file.empty() ? t.name : t.file) + ".npy");
  const std::vector<int64_t> &shape =
      t.fileShape.empty() ? t.shape : t.fileShape;
  if (cascade_npy_write_f32(path.c_str(), t.data.data(), shape.data(),
                            (int)shape.size()) != CASCADE_OK) {
    reportFileError(std::string(path));
    return false;
  }
  return true;
}

} // namespace cascade
