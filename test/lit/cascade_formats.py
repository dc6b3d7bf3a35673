"""lit test formats of the Cascade test suite."""
import os
import subprocess
import lit.Test
import lit.formats


def verdict(proc, out, marker):
    """The result of a run: FAIL when it did not finish, exited non-zero or
    printed no `marker`; UNSUPPORTED (a skip) when it exited 77."""
    if proc is None:
        return lit.Test.FAIL, out
    if proc.returncode == 77:
        return lit.Test.UNSUPPORTED, out
    if proc.returncode != 0 or marker not in proc.stdout:
        return lit.Test.FAIL, out
    return lit.Test.PASS, out


class ExampleFormat(lit.formats.TestFormat):
    def getTestsInDirectory(self, testSuite, path_in_suite, litConfig, localConfig):
        examples = os.path.join(localConfig.cascade_src_root, "examples")
        for name in sorted(os.listdir(examples)):
            if name.endswith(".ein"):
                yield lit.Test.Test(testSuite, path_in_suite + (name,), localConfig)

    def execute(self, test, litConfig):
        cfg = test.config
        model = os.path.join(cfg.cascade_src_root, "examples", test.path_in_suite[-1])
        cmd = [os.path.join(cfg.cascade_tools_dir, "cascade"), "run", model,
               "--target=x86_64", "--random-inputs", "--seed=7", "--check"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return lit.Test.FAIL, "timed out: " + " ".join(cmd)
        out = "$ " + " ".join(cmd) + "\n" + proc.stdout + proc.stderr
        if proc.returncode != 0 or "max_rel_err=" not in proc.stdout:
            return lit.Test.FAIL, out
        return lit.Test.PASS, out


class AArch64ExampleFormat(lit.formats.TestFormat):
    """Every example, run under qemu-aarch64 for each vector configuration:
    NEON, and vector-length-agnostic SVE at 128 and 512 bits (the same
    binary; qemu's CPU sets the length). `cascade run` exits 77 when qemu or
    the cross sysroot is missing: the test is then UNSUPPORTED (a skip)."""

    # name: (cascade flags, qemu CPU)
    VARIANTS = {
        "neon": (["--target=aarch64"], "max,sve=off"),
        "sve128": (["--target=aarch64", "--features=+sve"],
                   "max,sve-default-vector-length=16"),
        "sve512": (["--target=aarch64", "--features=+sve"],
                   "max,sve-default-vector-length=64"),
    }

    def getTestsInDirectory(self, testSuite, path_in_suite, litConfig, localConfig):
        examples = os.path.join(localConfig.cascade_src_root, "examples")
        for variant in sorted(self.VARIANTS):
            for name in sorted(os.listdir(examples)):
                if name.endswith(".ein"):
                    yield lit.Test.Test(testSuite, path_in_suite + (variant, name),
                                        localConfig)

    def execute(self, test, litConfig):
        cfg = test.config
        variant, name = test.path_in_suite[-2:]
        flags, qemu_cpu = self.VARIANTS[variant]
        model = os.path.join(cfg.cascade_src_root, "examples", name)
        cmd = [os.path.join(cfg.cascade_tools_dir, "cascade"), "run", model,
               *flags, "--random-inputs", "--seed=7", "--check"]
        env = dict(os.environ, **cfg.environment)
        env["QEMU_CPU"] = qemu_cpu
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=300, env=env)
        except subprocess.TimeoutExpired:
            return lit.Test.FAIL, "timed out: " + " ".join(cmd)
        out = ("$ QEMU_CPU=" + qemu_cpu + " " + " ".join(cmd) + "\n" +
               proc.stdout + proc.stderr)
        return verdict(proc, out, "max_rel_err=")


class CudaExampleFormat(lit.formats.TestFormat):
    """Every example for the CUDA target, four ways:
    ptx-sm_80/NAME, ptx-sm_90/NAME: `cascade compile --target=cuda` must
      give PTX that ptxas assembles into a cubin (UNSUPPORTED without ptxas);
    gpu-loops/NAME: the CUDA target's loop nests (one parallel loop per
      kernel, collapsed and tiled into blocks) run on this CPU with --check:
      the mapping is checked numerically even without a GPU;
    device/NAME: `cascade run --target=cuda --check` on a GPU; without a
      CUDA device it exits 77 and the test is UNSUPPORTED (a skip)."""

    KINDS = ["device", "gpu-loops", "ptx-sm_80", "ptx-sm_90"]

    def getTestsInDirectory(self, testSuite, path_in_suite, litConfig, localConfig):
        examples = os.path.join(localConfig.cascade_src_root, "examples")
        for kind in self.KINDS:
            for name in sorted(os.listdir(examples)):
                if name.endswith(".ein"):
                    yield lit.Test.Test(testSuite, path_in_suite + (kind, name),
                                        localConfig)

    def run(self, cmd, env=None):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=300, env=env)
        except subprocess.TimeoutExpired:
            return None, "timed out: " + " ".join(cmd)
        return proc, "$ " + " ".join(cmd) + "\n" + proc.stdout + proc.stderr

    def execute(self, test, litConfig):
        import shutil
        import tempfile
        cfg = test.config
        kind, name = test.path_in_suite[-2:]
        model = os.path.join(cfg.cascade_src_root, "examples", name)
        cascade = os.path.join(cfg.cascade_tools_dir, "cascade")
        if kind.startswith("ptx-"):
            arch = kind[len("ptx-"):]
            tmp = tempfile.mkdtemp(prefix="cascade-cuda-")
            try:
                proc, out = self.run([cascade, "compile", model, "--target=cuda",
                                      "--arch=" + arch, "-o", tmp])
                if proc is None or proc.returncode != 0:
                    return lit.Test.FAIL, out
                stem = name[:-len(".ein")]
                if not os.path.exists(os.path.join(tmp, stem + ".ptx")):
                    return lit.Test.FAIL, out + "\nno PTX written"
                if "ptxas not found" in proc.stderr:
                    return lit.Test.UNSUPPORTED, out
                cubin = os.path.join(tmp, stem + "." + arch + ".cubin")
                if not os.path.getsize(cubin):
                    return lit.Test.FAIL, out + "\nempty cubin"
                return lit.Test.PASS, out
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        flags = ["--gpu-loops"] if kind == "gpu-loops" else ["--target=cuda"]
        proc, out = self.run([cascade, "run", model, *flags, "--random-inputs",
                              "--seed=7", "--check"],
                             env=dict(os.environ, **cfg.environment))
        if proc is None:
            return lit.Test.FAIL, out
        if proc.returncode == 77 and kind == "device":
            return lit.Test.UNSUPPORTED, out
        if proc.returncode != 0 or "max_rel_err=" not in proc.stdout:
            return lit.Test.FAIL, out
        return lit.Test.PASS, out


class WebGpuExampleFormat(CudaExampleFormat):
    """Every example for the WebGPU target, four ways:
    validate/NAME, validate-f16/NAME: `cascade compile --target=webgpu`
      (f32, and f16 storage with --features=+f16), then every WGSL file
      through Dawn's null backend: shader compilation and pipeline creation
      with the manifest's layout and limits;
    dawn/NAME: `cascade run --target=webgpu --check` on Dawn (SwiftShader
      Vulkan, as in Chromium);
    limits/NAME: the same with the limits lowered (2 storage buffers per
      kernel, 16 workgroups per dimension), so that kernels pack buffers and
      fold grids.
    Without node or the npm package `webgpu`, the driver exits 77 and the
    test is UNSUPPORTED (a skip)."""

    KINDS = ["dawn", "limits", "validate", "validate-f16"]

    # getTestsInDirectory and run: as for CUDA, over these KINDS.

    def execute(self, test, litConfig):
        import shutil
        import tempfile
        cfg = test.config
        kind, name = test.path_in_suite[-2:]
        model = os.path.join(cfg.cascade_src_root, "examples", name)
        cascade = os.path.join(cfg.cascade_tools_dir, "cascade")
        env = dict(os.environ, **cfg.environment)
        if kind.startswith("validate"):
            flags = ["--features=+f16"] if kind == "validate-f16" else []
            tmp = tempfile.mkdtemp(prefix="cascade-webgpu-")
            try:
                proc, out = self.run([cascade, "compile", model, "--target=webgpu",
                                      *flags, "-o", tmp], env)
                if proc is None or proc.returncode != 0:
                    return lit.Test.FAIL, out
                manifest = os.path.join(tmp, name[:-len(".ein")] + ".json")
                validator = os.path.join(cfg.cascade_src_root, "runtime", "webgpu",
                                         "node", "validate.mjs")
                node = shutil.which("node")
                if node is None:
                    return lit.Test.UNSUPPORTED, out + "\nnode is not installed"
                proc, more = self.run([node, validator, manifest], env)
                return verdict(proc, out + more, "ok: ")
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        flags = ["--target=webgpu"]
        if kind == "limits":
            flags += ["--webgpu-max-storage-buffers=2", "--webgpu-max-workgroups=16"]
        proc, out = self.run([cascade, "run", model, *flags, "--random-inputs",
                              "--seed=7", "--check"], env)
        return verdict(proc, out, "max_rel_err=")
