"""Cascade from Python: compile a `.ein` or `.onnx` model and run it on
NumPy arrays.

    import cascade, numpy as np
    m = cascade.compile("model.onnx", sequence=128)   # **ranks: like --set
    print(m.inputs, m.outputs)                         # .name .shape .dtype
    outs = m(input_ids=np.zeros((1, 128), np.int64))   # dict of NumPy arrays

The compiler runs as the `cascade` command (`cascade compile`), the model
runs in this process through the runtime's C ABI (libcascade_runtime.so,
ctypes). Errors are `cascade.CascadeError`, whose message holds the
compiler's `file:line:col: error: ...` diagnostics. See docs/python.md.
"""
import ctypes
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np

from . import _config

__all__ = ["compile", "analyze", "check", "Model", "TensorInfo", "CascadeError"]


class CascadeError(Exception):
    """A diagnostic from the compiler or the runtime (the message carries
    the `file:line:col: error: ...` lines)."""


class TensorInfo:
    """One input or output of a compiled model."""

    def __init__(self, name, shape, dtype=np.float32):
        self.name, self.shape, self.dtype = name, tuple(shape), np.dtype(dtype)

    def __repr__(self):
        return f"TensorInfo(name={self.name!r}, shape={self.shape}, dtype={self.dtype})"


def _command():
    return os.environ.get("CASCADE", _config.CASCADE)


def _run(args, what):
    try:
        r = subprocess.run([_command()] + args, capture_output=True, text=True)
    except OSError as e:
        raise CascadeError(f"cannot run the compiler {_command()}: {e}") from None
    if r.returncode != 0:
        raise CascadeError((r.stderr or r.stdout).strip() or f"{what} failed (exit {r.returncode})")
    return r.stdout


def _set_flags(ranks):
    flags = []
    for k, v in ranks.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"size {k}={v!r} must be a number")
        flags.append(f"--set={k}={v}")
    return flags


# --- the runtime's C ABI ----------------------------------------------------

class _Info(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("rank", ctypes.c_int),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("num_elements", ctypes.c_int64), ("dtype", ctypes.c_char_p),
                ("weight_key", ctypes.c_char_p), ("weight_file", ctypes.c_char_p)]


class _ProfileStep(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("function", ctypes.c_char_p),
                ("equations", ctypes.c_char_p), ("flops", ctypes.c_int64),
                ("calls", ctypes.c_int64), ("seconds", ctypes.c_double)]


_lib = None


def _runtime():
    global _lib
    if _lib is None:
        path = os.path.join(os.path.dirname(__file__), _config.RUNTIME_LIBRARY)
        lib = ctypes.CDLL(path)
        lib.cascade_last_error.restype = ctypes.c_char_p
        lib.cascade_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        lib.cascade_model_count.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.cascade_model_info.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                           ctypes.POINTER(_Info)]
        lib.cascade_model_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
        lib.cascade_model_free.argtypes = [ctypes.c_void_p]
        lib.cascade_weights_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        lib.cascade_weights_read_f32.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                 ctypes.c_void_p, ctypes.c_int64]
        lib.cascade_weights_close.argtypes = [ctypes.c_void_p]
        lib.cascade_model_profile_size.argtypes = [ctypes.c_void_p]
        lib.cascade_model_profile_step.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                                   ctypes.POINTER(_ProfileStep)]
        lib.cascade_model_profile_reset.argtypes = [ctypes.c_void_p]
        lib.cascade_model_profile_format.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                     ctypes.c_size_t]
        lib.cascade_model_profile_format.restype = ctypes.c_size_t
        _lib = lib
    return _lib


def _check(status):
    if status != 0:
        raise CascadeError(_runtime().cascade_last_error().decode())


class Model:
    """A compiled model, callable on NumPy arrays: `outs = m(**arrays)`."""

    def __init__(self, folder, manifest, source_dir, weights):
        self._folder = folder
        lib = _runtime()
        self._handle = ctypes.c_void_p()
        so = os.path.join(folder, f"lib{manifest['model']}.so")
        _check(lib.cascade_model_load(so.encode(), ctypes.byref(self._handle)))
        entries = {role: manifest[role] for role in ("inputs", "weights", "outputs")}
        # The user's names and shapes (an imported ONNX graph's), and the
        # compiled cascade's (which may hold a tensor split further).
        def info(e):
            return TensorInfo(e.get("external_name", e["name"]),
                              e.get("external_shape", e["shape"]))
        self.inputs = [info(e) for e in entries["inputs"]]
        self.outputs = [info(e) for e in entries["outputs"]]
        self._in_shapes = [tuple(e["shape"]) for e in entries["inputs"]]
        self._out_shapes = [tuple(e["shape"]) for e in entries["outputs"]]
        self._weights = [self._load_weight(e, folder, source_dir, weights)
                         for e in entries["weights"]]

    def _load_weight(self, e, folder, source_dir, override):
        lib = _runtime()
        if override:
            path = override
        elif e.get("file"):
            f = e["file"]
            candidates = [f] if os.path.isabs(f) else [os.path.join(folder, f),
                                                     os.path.join(source_dir, f)]
            path = next((c for c in candidates if os.path.exists(c)), candidates[-1])
        else:
            raise CascadeError(f"weight '{e['name']}' names no file: pass weights=FILE.safetensors")
        handle = ctypes.c_void_p()
        _check(lib.cascade_weights_open(path.encode(), ctypes.byref(handle)))
        try:
            a = np.empty(e["shape"], np.float32)
            _check(lib.cascade_weights_read_f32(handle, e["key"].encode(),
                                                a.ctypes.data, a.size))
        finally:
            lib.cascade_weights_close(handle)
        return a

    def __call__(self, **arrays):
        buffers, keep = [], []
        names = {t.name for t in self.inputs}
        for k in arrays:
            if k not in names:
                raise TypeError(f"the model has no input {k!r} (inputs: "
                                f"{', '.join(repr(t.name) for t in self.inputs)})")
        for t, shape in zip(self.inputs, self._in_shapes):
            if t.name not in arrays:
                raise TypeError(f"missing input {t.name!r} of shape {list(t.shape)}")
            a = np.asarray(arrays[t.name])
            if a.shape != t.shape and not (a.size == 1 and np.prod(t.shape, dtype=np.int64) == 1):
                raise ValueError(f"input {t.name!r} expects shape {list(t.shape)}, got {list(a.shape)}")
            if a.dtype.kind not in "fiub":
                raise TypeError(f"input {t.name!r} has dtype {a.dtype}; expected a float, "
                                "integer or bool array")
            if a.dtype.kind in "iu" and a.size and np.abs(a).max() > 2**24:
                raise ValueError(f"input {t.name!r} holds integers beyond 2^24, which f32 "
                                 "(Cascade's arithmetic) cannot hold exactly")
            # Zero-copy for C-contiguous, aligned float32 arrays.
            a = np.require(a, np.float32, ["C_CONTIGUOUS", "ALIGNED"]).reshape(shape)
            keep.append(a)
            buffers.append(a.ctypes.data)
        for w in self._weights:
            buffers.append(w.ctypes.data)
        outs = [np.empty(s, np.float32) for s in self._out_shapes]
        buffers += [o.ctypes.data for o in outs]
        array = (ctypes.c_void_p * len(buffers))(*buffers)
        _check(_runtime().cascade_model_run(self._handle, array))
        return {t.name: o.reshape(t.shape) for t, o in zip(self.outputs, outs)}

    def profile(self):
        """The time of each step since the load or `reset_profile()` (a model
        compiled with `profile=True`): a list of dicts with `name`,
        `function`, `equations`, `flops` (per call), `calls` and
        `seconds`, in the order the steps run."""
        lib = _runtime()
        n = lib.cascade_model_profile_size(self._handle)
        if n <= 0:
            raise CascadeError("the model was compiled without profile=True")
        steps = []
        for i in range(n):
            s = _ProfileStep()
            _check(lib.cascade_model_profile_step(self._handle, i, ctypes.byref(s)))
            steps.append({"name": s.name.decode(), "function": s.function.decode(),
                          "equations": s.equations.decode().split(),
                          "flops": s.flops, "calls": s.calls, "seconds": s.seconds})
        return steps

    def profile_table(self):
        """The profile as `cascade run --profile` prints it."""
        lib = _runtime()
        n = lib.cascade_model_profile_format(self._handle, None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        lib.cascade_model_profile_format(self._handle, buf, n + 1)
        return buf.value.decode()

    def reset_profile(self):
        """Zeroes the profile's counters (after a warm-up call, say)."""
        _runtime().cascade_model_profile_reset(self._handle)

    def __del__(self):
        if getattr(self, "_handle", None) and _lib is not None:
            _lib.cascade_model_free(self._handle)
            self._handle = None
        if getattr(self, "_folder", None):
            shutil.rmtree(self._folder, ignore_errors=True)

    def __repr__(self):
        return f"Model(inputs={self.inputs}, outputs={self.outputs})"


def compile(path, target="host", weights=None, schedule=None, profile=False,
            **ranks):
    """Compiles the `.ein` or `.onnx` model at `path` for this machine's CPU
    and loads it. `weights` replaces every weight's safetensors file,
    `schedule` is a schedule file, `profile` times each step of every call
    (`Model.profile()`), `ranks` set sizes (`--set NAME=V`: a rank or
    constant of a .ein model, a dynamic dimension of an ONNX graph)."""
    if target not in ("host", "x86_64"):
        raise CascadeError(f"target {target!r}: the Python API runs models in this process, "
                           "on the host CPU; compile other targets with `cascade compile`")
    path = os.fspath(path)
    folder = tempfile.mkdtemp(prefix="cascade-")
    try:
        args = ["compile", path, "-o", folder, "--emit=lib", f"--target={target}"]
        if schedule:
            args.append(f"--schedule={os.fspath(schedule)}")
        if profile:
            args.append("--profile")
        _run(args + _set_flags(ranks), "compile")
        name = next(f for f in os.listdir(folder) if f.endswith(".json"))
        with open(os.path.join(folder, name)) as f:
            manifest = json.load(f)
        return Model(folder, manifest, os.path.dirname(os.path.abspath(path)),
                     os.fspath(weights) if weights else None)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def analyze(path, **ranks):
    """FuseMax's pass counts per rank, FLOPs and bytes per equation and
    kernel: `cascade analyze --json` as a dict."""
    return json.loads(_run(["analyze", os.fspath(path), "--json"] + _set_flags(ranks),
                           "analyze"))


def check(path, **ranks):
    """Parses and verifies the model; returns the summary line, raises
    CascadeError with the diagnostics."""
    return _run(["check", os.fspath(path)] + _set_flags(ranks), "check").strip()
