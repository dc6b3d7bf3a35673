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
