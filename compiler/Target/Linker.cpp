//===- Linker.cpp - Link objects into libraries and executables -----------===//
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

/// The folder of the runtime libraries for `m`: `<prefix>/lib` next to
/// `bin/cascade`, and `<prefix>/lib/aarch64-linux-gnu` for the cross build.
std::string runtimeLibDir(const CpuMachine &m) {
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable("cascade", &anchor);
  llvm::SmallString<256> dir(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(dir, "lib");
  if (!m.native)
    llvm::sys::path::append(dir, "aarch64-linux-gnu");
  return std::string(dir);
}

/// Debian's aarch64 cross sysroot, which clang finds on its own.
constexpr const char *kAArch64Sysroot = "/usr/aarch64-linux-gnu";

/// Fails with a message when `m` is a cross target whose sysroot is missing.
bool checkSysroot(const CpuMachine &m, std::string &error) {
  if (m.native)
    return true;
  std::string crt = std::string(kAArch64Sysroot) + "/lib/crt1.o";
  if (llvm::sys::fs::exists(crt))
    return true;
  error = "cannot link for aarch64: the cross sysroot is missing (" + crt +
          "); install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu "
          "libc6-dev-arm64-cross (scripts/install-deps.sh does)";
  return false;
}

/// Where clang's OpenMP runtime (libomp) lives: next to clang's own libs.
std::string ompLibDir() {
  llvm::SmallString<256> dir(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(findClang())));
  llvm::sys::path::append(dir, "lib");
  return std::string(dir);
}

/// The clang flags every link for `m` shares: the target (cross builds),
/// lld, and libomp with its rpath when the code uses OpenMP.
bool linkFlags(const CpuMachine &m, std::vector<std::string> &flags,
               std::string &error) {
  if (!checkSysroot(m, error))
    return false;
  if (!m.native)
    flags.push_back("--target=aarch64-linux-gnu");
  flags.push_back("-fuse-ld=lld");
  if (m.openmp)
    flags.insert(flags.end(), {"-fopenmp", "-Wl,-rpath," + ompLibDir()});
  return true;
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
                       const std::string &outPath, const CpuMachine &m,
                       std::string &error) {
  std::vector<std::string> args;
  if (!linkFlags(m, args, error))
    return false;
  args.insert(args.end(), {"-shared", "-o", outPath, objectPath, "-lm"});
  return runClang(args, error);
}

bool linkExecutable(const std::string &objectPath, const std::string &outPath,
                    const CpuMachine &m, std::string &error) {
  std::vector<std::string> args;
  if (!linkFlags(m, args, error))
    return false;
  std::string lib = runtimeLibDir(m);
  std::string stub = lib + "/cascade_exe_stub.o";
  std::string runtime = lib + "/libcascade_runtime.a";
  for (const std::string &p : {stub, runtime})
    if (!llvm::sys::fs::exists(p)) {
      error = "runtime library '" + p + "' is missing (is the build complete?)";
      return false;
    }
  args.insert(args.end(), {"-o", outPath, objectPath, stub, runtime, "-lstdc++",
                           "-lm", "-ldl", "-lpthread"});
  return runClang(args, error);
}

bool findEmulator(const CpuMachine &m, std::vector<std::string> &command,
                  std::string &error) {
  command.clear();
  if (m.native)
    return true;
  if (!checkSysroot(m, error))
    return false;
  for (const char *name : {"qemu-aarch64", "qemu-aarch64-static"})
    if (auto p = llvm::sys::findProgramByName(name)) {
      command = {*p, "-L", kAArch64Sysroot};
      return true;
    }
  error = "cannot run aarch64 code on this machine: qemu-aarch64 is not "
          "installed (Debian package qemu-user)";
  return false;
}

} // namespace cascade
