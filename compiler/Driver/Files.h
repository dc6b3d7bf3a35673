//===- Files.h - Files and temporary folders of the CLI ---------*- C++ -*-===//
#ifndef CASCADE_COMPILER_DRIVER_FILES_H
#define CASCADE_COMPILER_DRIVER_FILES_H

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include <string>

namespace cascade {

/// Writes `data` to `path`; false (with a message) on failure.
inline bool writeFile(const std::string &path, llvm::StringRef data) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    llvm::errs() << path << ": error: cannot write: " << ec.message() << "\n";
    return false;
  }
  os << data;
  return true;
}

/// A temporary directory removed when it goes out of scope.
struct TempDir {
  llvm::SmallString<256> path;
  std::string parent;
  bool ok;
  /// In the system's temporary folder, or inside `parent` (made absolute,
  /// so the files can be renamed into `parent` later).
  explicit TempDir(const std::string &parent = "") : parent(parent) {
    llvm::SmallString<256> model(parent);
    std::error_code ec;
    if (!parent.empty()) {
      ec = llvm::sys::fs::make_absolute(model);
      llvm::sys::path::append(model, ".cascade-tmp");
    } else {
      model = "cascade";
    }
    if (!ec)
      ec = llvm::sys::fs::createUniqueDirectory(model, path);
    ok = !ec;
  }
  /// Whether the folder exists; reports it on stderr when it does not.
  bool usable() const {
    if (!ok)
      llvm::errs() << (parent.empty() ? "" : parent + ": ")
                   << "error: cannot create a temporary folder\n";
    return ok;
  }
  ~TempDir() {
    if (ok)
      llvm::sys::fs::remove_directories(path);
  }
  std::string file(const llvm::Twine &name) const {
    llvm::SmallString<256> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
};

} // namespace cascade

#endif
