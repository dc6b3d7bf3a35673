#!/usr/bin/env python3
"""Runs every `cascade ...` and `cascade-opt ...` command shown in the code blocks of README.md
and docs/, so that the docs cannot drift from the tool.

Each command runs in a scratch folder that holds the project's examples,
with `cascade` on PATH and `/tmp/` replaced by a private folder. A command
passes when it exits 0, or 77 (the target's device or emulator is not
here), or 1 when it names a file that the docs do not provide (a.npy,
m.ein: the reader's own); a command whose line says `# exit N` must exit N.
Exit 2 (a bad command line: an option the docs name and the tool does not
take) or a signal always fails. Synopsis lines (MODEL, FILE, [...]) are
not run. Prints one line per command and `N run, N failed, N skipped`.
"""
import glob
import os
import re
import shlex
import subprocess
import sys
import time

PLACEHOLDER = re.compile(r"\b(MODEL|FILE|DIR|PIPELINE|PROG)\b|\s\[-|\|\s*--")
FILE_ARG = re.compile(r"[\w./-]+\.(?:npy|ein|mlir|safetensors|jsonl|onnx)\b")


def commands(root):
    """Yields (file, line, command, documented diagnostics): the `error:`
    and `warning:` lines a `$ cascade ...` block shows after the command."""
    files = [os.path.join(root, "README.md")] + \
        sorted(glob.glob(os.path.join(root, "docs", "*.md"))) + \
        sorted(glob.glob(os.path.join(root, "docs", "targets", "*.md")))
    for full in files:
        rel = os.path.relpath(full, root)
        in_block, pending, current = False, "", None
        for number, line in enumerate(open(full, encoding="utf-8"), 1):
            if line.startswith("```"):
                if current:
                    yield current
                in_block, pending, current = not in_block, "", None
                continue
            if not in_block:
                continue
            text = (pending + " " + line.strip()) if pending else line.strip()
            pending = ""
            if text.endswith("\\"):
                pending = text[:-1]
                continue
            prompt = text.startswith("$ ")
            text = re.sub(r"^\$ ", "", text)
            if text.startswith(("build/bin/cascade ", "build/bin/cascade-opt ")):
                text = text[len("build/bin/"):]
            if text.startswith(("cascade ", "cascade-opt ")):
                if current:
                    yield current
                current = (rel, number, text, []) if prompt else None
                if not prompt:
                    yield rel, number, text, []
            elif prompt:
                if current:
                    yield current
                current = None
            elif current and re.search(r"\b(error|warning):", text):
                current[3].append(text)
        if current:
            yield current


def main():
    root, cascade_dir, work = (os.path.abspath(a) for a in sys.argv[1:4])
    os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
    examples = os.path.join(work, "examples")
    if not os.path.lexists(examples):
        os.symlink(os.path.join(root, "examples"), examples)
    env = dict(os.environ)
    env["PATH"] = cascade_dir + os.pathsep + env.get("PATH", "")
    env["XDG_CACHE_HOME"] = os.path.join(work, "cache")  # never the user's db
    run = failed = skipped = 0
    for rel, number, text, shown in commands(root):
        where = f"{rel}:{number}"
        if PLACEHOLDER.search(text.split("#")[0]):
            skipped += 1
            continue
        expect = re.search(r"#.*\bexit (\d+)", text)
        command = text.replace("/tmp/", os.path.join(work, "tmp") + "/")
        # The files a command names that neither the docs nor an earlier
        # command provide.
        code = command.split("#")[0]
        missing = [f for f in FILE_ARG.findall(code)
                   if not os.path.exists(os.path.join(work, f.split("=")[-1]))]
        start = time.time()
        try:
            p = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=work, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=300)
            rc, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            rc, err, p = "timeout", "", None
        # `cascade ... | grep -c x` exits as grep does (1: no line), or by
        # SIGPIPE (141) when `grep -m` stops reading.
        pipe = "|" in code
        output = (p.stdout + p.stderr) if rc != "timeout" else ""
        tmp = os.path.join(work, "tmp") + "/"
        unshown = [d for d in shown
                   if d.replace("/tmp/", tmp) not in output]
        if unshown and not missing:
            ok = False
            err = "documented, not printed: " + "\n".join(unshown) + \
                "\nprinted:\n" + output
        elif expect:
            ok = rc == int(expect.group(1))
        elif shown and any("error:" in d for d in shown):
            ok = rc not in (0, "timeout") and rc < 128  # a documented failure
        elif rc in (0, 77):
            ok = True
        elif (rc == 1 and (missing or pipe)) or (rc == 141 and pipe):
            ok = True
        else:
            ok = False
        run += 1
        status = "ok" if ok else "FAIL"
        print(f"{status} {where} (exit {rc}, {time.time() - start:.1f} s): {text}")
        if not ok:
            failed += 1
            print("  " + "\n  ".join(err.strip().splitlines()[-6:]))
    print(f"{run} run, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
