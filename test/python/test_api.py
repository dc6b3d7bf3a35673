"""The Python API (build/python/cascade) under Debian's python3-pytest.
Every result is compared with NumPy computing the same math in float64
(tolerance 1e-4, norm-wise relative, as LANGUAGE.md section 8)."""
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

import cascade

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(ROOT, "examples")


def rel_err(got, want):
    want = np.asarray(want, np.float64)
    return np.linalg.norm(np.asarray(got, np.float64) - want) / np.linalg.norm(want)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def test_matmul_sizes_inputs_outputs():
    m = cascade.compile(os.path.join(EXAMPLES, "matmul.ein"), M=8, K=4, N=16)
    assert [(t.name, t.shape, t.dtype) for t in m.inputs] == \
        [("A", (8, 4), np.float32), ("B", (4, 16), np.float32)]
    assert [(t.name, t.shape) for t in m.outputs] == [("C", (8, 16))]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((8, 4)), rng.standard_normal((4, 16))
    out = m(A=a.astype(np.float32), B=b.astype(np.float32))
    assert set(out) == {"C"} and out["C"].dtype == np.float32
    assert rel_err(out["C"], a @ b) < 1e-4
    # Float64 and integer arrays are converted; the result is the same math.
    ints = np.arange(32).reshape(8, 4) % 5 - 2
    out = m(A=ints, B=b)
    assert rel_err(out["C"], ints.astype(np.float64) @ b) < 1e-4


def test_wrong_inputs_raise():
    m = cascade.compile(os.path.join(EXAMPLES, "matmul.ein"), M=8, K=4, N=16)
    a, b = np.zeros((8, 4), np.float32), np.zeros((4, 16), np.float32)
    with pytest.raises(ValueError, match=r"input 'A' expects shape \[8, 4\], got \[4, 8\]"):
        m(A=a.T, B=b)
    with pytest.raises(TypeError, match="missing input 'B'"):
        m(A=a)
    with pytest.raises(TypeError, match="has no input 'C'"):
        m(A=a, B=b, C=b)
    with pytest.raises(TypeError, match="dtype"):
        m(A=a.astype(np.complex64), B=b)


def test_compile_errors_carry_the_location(tmp_path):
    bad = write(tmp_path / "bad.ein", "ranks I=4\ninput A[I] : f32\nB[i] = C[i]\noutput B\n")
    with pytest.raises(cascade.CascadeError) as e:
        cascade.compile(bad)
    assert re.search(r"bad\.ein:3:8: error: unknown tensor 'C'", str(e.value))
    with pytest.raises(cascade.CascadeError, match=r"bad\.ein:3:8: error"):
        cascade.check(bad)
    with pytest.raises(cascade.CascadeError, match="no such model|cannot read"):
        cascade.compile(tmp_path / "missing.ein")
    with pytest.raises(cascade.CascadeError, match="host CPU"):
        cascade.compile(os.path.join(EXAMPLES, "matmul.ein"), target="cuda")
    with pytest.raises(TypeError):
        cascade.compile(os.path.join(EXAMPLES, "matmul.ein"), M="eight")


def test_weights_from_a_safetensors_file(tmp_path):
    model = write(tmp_path / "lin.ein",
                  "ranks I=3, J=5\ninput X[I] : f32\nweight W[J,I] : f32 = \"w\"\n"
                  "Y[j] = W[j,i] * X[i]\noutput Y\n")
    w = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    header = json.dumps({"w": {"dtype": "F32", "shape": [5, 3],
                               "data_offsets": [0, w.nbytes]}}).encode()
    header += b" " * (-len(header) % 8)
    st = tmp_path / "w.safetensors"
    st.write_bytes(struct.pack("<Q", len(header)) + header + w.tobytes())
    m = cascade.compile(model, weights=st)
    x = np.array([1.0, -2.0, 0.5], np.float32)
    assert rel_err(m(X=x)["Y"], w.astype(np.float64) @ x) < 1e-4
    with pytest.raises(cascade.CascadeError, match="no file"):
        cascade.compile(model)


def test_analyze_and_check():
    a = cascade.analyze(os.path.join(EXAMPLES, "attention_3pass.ein"))
    assert a["passes"]["M"] == 3
    assert sum(e["flops"] for e in a["equations"]) > 0
    assert cascade.check(os.path.join(EXAMPLES, "matmul.ein")).startswith("ok: model 'matmul'")


@pytest.fixture(scope="module")
def onnx_models(tmp_path_factory):
    pytest.importorskip("onnx")
    d = tmp_path_factory.mktemp("onnx")
    subprocess.run([sys.executable, os.path.join(ROOT, "test", "onnx", "Inputs", "make_models.py"),
                    str(d)], check=True)
    return d


def test_onnx_attention(onnx_models):
    m = cascade.compile(onnx_models / "attention.onnx")
    assert [t.name for t in m.inputs] == ["input:x", "attention_mask"]
    assert [(t.name, t.shape) for t in m.outputs] == [("output/context:0", (1, 16, 16))]
    x = np.load(onnx_models / "attention.in.input_x.npy")
    mask = np.load(onnx_models / "attention.in.attention_mask.npy")
    out = m(**{"input:x": x, "attention_mask": mask})
    assert rel_err(out["output/context:0"],
                   np.load(onnx_models / "attention.out.output_context_0.npy")) < 1e-4


def test_onnx_dynamic_size_and_errors(onnx_models):
    with pytest.raises(cascade.CascadeError, match="--set sequence=N"):
        cascade.compile(onnx_models / "dynamic.onnx")
    m = cascade.compile(onnx_models / "dynamic.onnx", sequence=3)
    x = np.load(onnx_models / "dynamic.in.x.npy")
    assert np.array_equal(m(x=x)["y"], np.maximum(x, 0))
    with pytest.raises(cascade.CascadeError,
                       match=r"unsupported\.onnx: node 1 'layer1/hardmax' \(Hardmax\): error"):
        cascade.compile(onnx_models / "unsupported.onnx")
    with pytest.raises(cascade.CascadeError, match=r"malformed\.onnx: error: not a valid ONNX model"):
        cascade.check(onnx_models / "malformed.onnx")


def test_profile(tmp_path):
    """A model compiled with profile=True counts each step's calls and time;
    the counters reset; a model without it says so."""
    model = write(tmp_path / "stack.ein", """model stack
ranks P=16, D=32, V=48
def layer(X[P,D]) -> Y[P,D] {
  Y[p,d] = X[p,d] + tanh(X[p,d])
}
input X0[P,D] : f32
input WH[V,D] : f32
X1 = layer(X0)
X2 = layer(X1)
LOGITS[p,v] = X2[p,d] * WH[v,d]
output LOGITS
""")
    m = cascade.compile(model, profile=True)
    rng = np.random.default_rng(3)
    arrays = {t.name: rng.standard_normal(t.shape).astype(np.float32) for t in m.inputs}
    m(**arrays)
    m.reset_profile()
    assert all(s["calls"] == 0 and s["seconds"] == 0 for s in m.profile())
    for _ in range(3):
        out = m(**arrays)
    x = arrays["X0"].astype(np.float64)
    for _ in range(2):
        x = x + np.tanh(x)
    assert rel_err(out["LOGITS"], x @ arrays["WH"].T.astype(np.float64)) < 1e-4
    steps = m.profile()
    head = [s for s in steps if s["name"] == "LOGITS"]
    layer = [s for s in steps if s["function"] == "layer"]
    # The head runs once per call, the layer's step once per layer call.
    assert len(head) == 1 and head[0]["calls"] == 3
    assert head[0]["flops"] == 2 * 16 * 48 * 32  # P x V x D, a multiply and an add each
    assert len(layer) == 1 and layer[0]["calls"] == 6
    assert all(s["seconds"] > 0 for s in steps)
    assert m.profile_table().startswith("profile of stack: 3 runs")
    plain = cascade.compile(os.path.join(EXAMPLES, "matmul.ein"), M=8, K=4, N=16)
    with pytest.raises(cascade.CascadeError, match="without profile=True"):
        plain.profile()
