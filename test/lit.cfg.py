# -*- Python -*- lit configuration of the Cascade test suite.
import os
import sys
import lit.formats
import shutil

# Test formats live in a module so lit's worker processes can load them.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lit"))

config.name = "Cascade"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py", "CMakeLists.txt",
                   "unit", "corpus", "lit"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.cascade_obj_root, "test")

config.environment["PATH"] = os.pathsep.join(
    [config.cascade_tools_dir, config.llvm_tools_dir,
     config.environment.get("PATH", "")])
# glibc fills allocated and freed memory with a pattern, so generated code
# that reads an uninitialized or freed buffer fails its check every time.
config.environment["MALLOC_PERTURB_"] = "165"
# Tests never read the user's tuning database or cache.
config.environment["XDG_CACHE_HOME"] = os.path.join(config.test_exec_root, "cache")

# Longer names first: lit substitutes in order and %cascade is a prefix.
config.substitutions.append(("%runtime_include",
                             os.path.join(config.cascade_src_root, "runtime", "include")))
config.substitutions.append(("%cascade_build", config.cascade_obj_root))
config.substitutions.append(("%cascade_bin", config.cascade_tools_dir))
config.substitutions.append(("%cascade_lib", os.path.join(config.cascade_obj_root, "lib")))
config.substitutions.append(("%examples", os.path.join(config.cascade_src_root, "examples")))
config.substitutions.append(("%cascade", os.path.join(config.cascade_tools_dir, "cascade")))
config.substitutions.append(("%clang", config.clang))

# ONNX import: Debian's python3 with its onnx and numpy packages writes the
# test graphs; libonnx-testdata holds ONNX's node tests.
config.substitutions.append(("%debian_python", "/usr/bin/python3"))
try:
    import subprocess as _sp
    if _sp.run(["/usr/bin/python3", "-c", "import onnx, numpy"],
               capture_output=True).returncode == 0:
        config.available_features.add("onnx")
        if _sp.run(["/usr/bin/python3", "-c", "import pytest"],
                   capture_output=True).returncode == 0:
            config.available_features.add("pytest")
        if os.path.isdir("/usr/share/libonnx-testdata/data/node"):
            config.available_features.add("onnx-testdata")
except OSError:
    pass

# ONNX Runtime (the bench's onnxruntime-node, bench/setup.sh) as a peer for
# the imported graphs.
if shutil.which("node") and os.path.isdir(os.path.join(
        config.cascade_src_root, "bench", "onnx", "node_modules", "onnxruntime-node")):
    config.available_features.add("onnxruntime")

if config.have_fuzzer:
    config.available_features.add("fuzzer")

# Code paths that only AVX-512 CPUs take (exp by vscalefps) run only there.
try:
    with open("/proc/cpuinfo") as f:
        if " avx512f" in f.read():
            config.available_features.add("avx512")
except OSError:
    pass

# aarch64 programs run under qemu-user against Debian's cross sysroot.
import shutil
if shutil.which("qemu-aarch64") and os.path.exists("/usr/aarch64-linux-gnu/lib/crt1.o") \
        and os.path.exists(os.path.join(config.cascade_obj_root, "lib", "aarch64-linux-gnu",
                                        "libcascade_runtime.a")):
    config.available_features.add("qemu-aarch64")

# CUDA: PTX is assembled by ptxas when the toolkit is installed; the
# toolkit's stub driver stands in for "a driver without a device".
if shutil.which("ptxas") or os.access("/usr/local/cuda/bin/ptxas", os.X_OK):
    config.available_features.add("ptxas")
if os.path.exists("/usr/local/cuda/lib64/stubs/libcuda.so"):
    config.available_features.add("cuda-stub")

# WebGPU: node with the npm package `webgpu` (Dawn) installed in
# runtime/webgpu; Debian's chromium for the browser test.
_webgpu = os.path.join(config.cascade_src_root, "runtime", "webgpu")
if shutil.which("node"):
    config.available_features.add("node")
if shutil.which("node") and os.path.exists(
        os.path.join(_webgpu, "node_modules", "webgpu", "package.json")):
    config.available_features.add("webgpu")
if os.access("/usr/bin/chromium", os.X_OK):
    config.available_features.add("chromium")
config.substitutions.append(("%webgpu_runtime", _webgpu))
