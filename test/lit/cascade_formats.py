"""lit test formats of the Cascade test suite."""
import os
import subprocess
import lit.Test
import lit.formats


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
        if proc.returncode == 77:
            return lit.Test.UNSUPPORTED, out
        if proc.returncode != 0 or "max_rel_err=" not in proc.stdout:
            return lit.Test.FAIL, out
        return lit.Test.PASS, out
