//===- Linker.cpp - Link objects into libraries and executables
//------------===//
#include "compiler/Target/Target.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

namespace cascade {

namespace {

/// clang is the linker driver: it knows the C runtime and libm.
std::string findClang() {
  if (llvm::sys::fs::can_execute(CASCADE_CLANG))
    return CASCADE_CLANG;
  for (const char *name : {"clang-22", "clang"})
    if (auto p = llvm::sys::findProgramByName(name))
      return *p;
  return "";
}

/// The folder of the runtime libraries: `<prefix>/lib` next to `bin/cascade`.
std::string runtimeLibDir() {
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable("cascade", &anchor);
  llvm::SmallString<256> dir(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(dir, "lib");
  return std::string(dir);
}

/// Where clang's OpenMP runtime (libomp) lives: next to clang's own libs.
std::string ompLibDir() {
  llvm::SmallString<256> dir(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(findClang())));
  llvm::sys::path::append(dir, "lib");
  return std::string(dir);
}

bool runClang(std::vector<std::string> args, std::string &error) {
  std::string clang = findClang();
  if (clang.empty()) {
    error = "cannot find clang (clang-22) to link the artifact";
    return false;
  }
  args.insert(args.begin(), clang);
  std::vector<llvm::StringRef> refs(args.begin(), args.end());
  std::string msg;
  llvm::SmallString<128> errFile;
  llvm::sys::fs::createTemporaryFile("cascade-link", "txt", errFile);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, errFile.str(),
                                                errFile.str()};
  int rc = llvm::sys::ExecuteAndWait(clang, refs, std::nullopt, redirects, 0, 0,
                                     &msg);
  if (rc != 0) {
    auto text = llvm::MemoryBuffer::getFile(errFile);
    error = "linking failed: " + (msg.empty() ? "" : msg + ": ") +
            (text ? (*text)->getBuffer().str() : "");
  }
  llvm::sys::fs::remove(errFile);
  return rc == 0;
}

} // namespace

bool linkSharedLibrary(const std::string &objectPath,
                       const std::string &outPath, const TargetOptions &,
                       std::string &error) {
  return runClang({"-shared", "-fuse-ld=lld", "-fopenmp", "-o", outPath,
                   objectPath, "-lm", "-Wl,-rpath," + ompLibDir()},
                  error);
}

bool linkExecutable(const std::string &objectPath, const std::string &outPath,
                    const TargetOptions &, std::string &error) {
  std::string lib = runtimeLibDir();
  std::string stub = lib + "/cascade_exe_stub.o";
  std::string runtime = lib + "/libcascade_runtime.a";
  for (const std::string &p : {stub, runtime})
    if (!llvm::sys::fs::exists(p)) {
      error = "runtime library '" + p + "' is missing (is the build complete?)";
      return false;
    }
  return runClang({"-fuse-ld=lld", "-fopenmp", "-o", outPath, objectPath, stub,
                   runtime, "-lstdc++", "-lm", "-ldl", "-lpthread",
                   "-Wl,-rpath," + ompLibDir()},
                  error);
}

} // namespace cascade
