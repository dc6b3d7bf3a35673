#!/usr/bin/python3
"""Writes the small ONNX models the import tests use into DIR, with ONNX's
own helper API (python3-onnx), and for each graph the inputs and the
outputs computed here in float64 by NumPy (an independent reference):
NAME.onnx, NAME.in.INPUT.npy, NAME.out.OUTPUT.npy.

Usage: make_models.py DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)


def save(d, name, graph, inputs, outputs, opset=17):
    model = helper.make_model(graph, producer_name="cascade-tests",
                              opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(d, name + ".onnx"))
    for k, v in inputs.items():
        np.save(os.path.join(d, f"{name}.in.{k.replace('/', '_').replace(':', '_')}.npy"), v)
    for k, v in outputs.items():
        np.save(os.path.join(d, f"{name}.out.{k}.npy"), v)


def init(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def attention(d):
    """Exported self-attention: MatMul -> Div -> Add(mask) -> Softmax ->
    MatMul, heads split by Reshape/Transpose, with names like an exporter's
    (slashes and colons)."""
    B, S, H, E = 1, 16, 2, 8
    D = H * E
    x = rng.standard_normal((B, S, D)).astype(np.float32)
    mask = np.where(rng.random((B, 1, 1, S)) < 0.2, -10000.0, 0.0).astype(np.float32)
    wq, wk, wv = (rng.standard_normal((D, D)).astype(np.float32) * 0.3 for _ in range(3))
    nodes = [
        helper.make_node("MatMul", ["input:x", "wq"], ["q"], name="attn/q"),
        helper.make_node("MatMul", ["input:x", "wk"], ["k"], name="attn/k"),
        helper.make_node("MatMul", ["input:x", "wv"], ["v"], name="attn/v"),
        helper.make_node("Reshape", ["q", "heads"], ["q4"], name="attn/q_heads"),
        helper.make_node("Reshape", ["k", "heads"], ["k4"], name="attn/k_heads"),
        helper.make_node("Reshape", ["v", "heads"], ["v4"], name="attn/v_heads"),
        helper.make_node("Transpose", ["q4"], ["qt"], perm=[0, 2, 1, 3], name="attn/qt"),
        helper.make_node("Transpose", ["k4"], ["kt"], perm=[0, 2, 3, 1], name="attn/kt"),
        helper.make_node("Transpose", ["v4"], ["vt"], perm=[0, 2, 1, 3], name="attn/vt"),
        helper.make_node("MatMul", ["qt", "kt"], ["scores"], name="attn/scores"),
        helper.make_node("Div", ["scores", "scale"], ["scaled"], name="attn/scale"),
        helper.make_node("Add", ["scaled", "attention_mask"], ["masked"], name="attn/mask"),
        helper.make_node("Softmax", ["masked"], ["probs"], axis=-1, name="attn/softmax"),
        helper.make_node("MatMul", ["probs", "vt"], ["ctx"], name="attn/context"),
        helper.make_node("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3], name="attn/merge_t"),
        helper.make_node("Reshape", ["ctx_t", "merged"], ["output/context:0"], name="attn/merge"),
    ]
    graph = helper.make_graph(
        nodes, "attention",
        [helper.make_tensor_value_info("input:x", TensorProto.FLOAT, [B, S, D]),
         helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, [B, 1, 1, S])],
        [helper.make_tensor_value_info("output/context:0", TensorProto.FLOAT, [B, S, D])],
        [init("wq", wq), init("wk", wk), init("wv", wv),
         init("heads", np.array([B, S, H, E], np.int64)),
         init("merged", np.array([B, S, D], np.int64)),
         init("scale", np.array(np.sqrt(E), np.float32))])
    x64 = x.astype(np.float64)
    q, k, v = (np.matmul(x64, w.astype(np.float64)).reshape(B, S, H, E).transpose(0, 2, 1, 3)
               for w in (wq, wk, wv))
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(E) + mask
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    out = (p @ v).transpose(0, 2, 1, 3).reshape(B, S, D)
    save(d, "attention", graph, {"input:x": x, "attention_mask": mask},
         {"output_context_0": out.astype(np.float32)})


def dynamic(d):
    """A graph input with a named dynamic dimension ('sequence')."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], "dynamic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["sequence", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["sequence", 4])])
    x = rng.standard_normal((3, 4)).astype(np.float32)
    save(d, "dynamic", graph, {"x": x}, {"y": np.maximum(x, 0)})


def unsupported(d):
    """An operator Cascade does not import (LSTM-free: Hardmax)."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"], name="first"),
         helper.make_node("Hardmax", ["r"], ["y"], name="layer1/hardmax")],
        "unsupported",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    save(d, "unsupported", graph, {}, {})


def runtime_shape(d):
    """A Reshape whose shape is computed at run time from a float input."""
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")],
        "runtime_shape",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 2])])
    save(d, "runtime_shape", graph, {}, {})


def products(d):
    """Where the importer folds a scale into a product and stores a weight
    transposed, and where it must not: y1 = 0.5 * (x @ wa) (Mul, constant
    first: folded); y2 = (x @ wb) / 4 with x @ wb also an output (two
    readers: not folded); wc is read by MatMul and by Add (not only a
    product's weight: stored as given)."""
    x = rng.standard_normal((16, 16)).astype(np.float32)
    wa = rng.standard_normal((16, 24)).astype(np.float32)
    wb = rng.standard_normal((16, 24)).astype(np.float32)
    wc = rng.standard_normal((16, 16)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "wa"], ["pa"], name="mm_a"),
        helper.make_node("Mul", ["half", "pa"], ["y1"], name="scale_a"),
        helper.make_node("MatMul", ["x", "wb"], ["pb"], name="mm_b"),
        helper.make_node("Div", ["pb", "four"], ["y2"], name="scale_b"),
        helper.make_node("MatMul", ["x", "wc"], ["pc"], name="mm_c"),
        helper.make_node("Add", ["pc", "wc"], ["y3"], name="add_c"),
    ]
    graph = helper.make_graph(
        nodes, "products",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 16])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
         for n, s in [("y1", [16, 24]), ("y2", [16, 24]), ("pb", [16, 24]),
                      ("y3", [16, 16])]],
        [init("wa", wa), init("wb", wb), init("wc", wc),
         init("half", np.float32(0.5)), init("four", np.float32(4))])
    x64 = x.astype(np.float64)
    save(d, "products", graph, {"x": x},
         {"y1": 0.5 * (x64 @ wa), "y2": (x64 @ wb) / 4, "pb": x64 @ wb,
          "y3": x64 @ wc + wc})


def causal(d):
    """GPT-2's causal mask as exporters write it: a constant bool
    [1, 1, P, P] applied by Where with finfo.min, then Softmax (becomes an
    index comparison); the same with a mask that is not triangular (stays a
    read of the mask)."""
    P = 8
    x = rng.standard_normal((1, 2, P, P)).astype(np.float32)
    tri = np.tril(np.ones((P, P), dtype=bool))[None, None]
    other = tri.copy()
    other[0, 0, 3, 5] = True
    fill = np.float32(np.finfo(np.float32).min)
    nodes = [
        helper.make_node("Where", ["tri", "x", "fill"], ["masked"], name="mask"),
        helper.make_node("Softmax", ["masked"], ["y"], name="softmax", axis=-1),
        helper.make_node("Where", ["other", "x", "fill"], ["masked2"], name="mask2"),
        helper.make_node("Softmax", ["masked2"], ["z"], name="softmax2", axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "causal",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, P, P])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2, P, P])
         for n in ("y", "z")],
        [init("tri", tri), init("other", other), init("fill", fill)])

    def softmax(m):
        s = np.where(m, x.astype(np.float64), -np.inf)
        e = np.exp(s - s.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    save(d, "causal", graph, {"x": x}, {"y": softmax(tri), "z": softmax(other)})


def fused_parts(d):
    """GPT-2's fused projection: qkv = x @ w + b read by three Slices (and a
    Split of another sum): each part is written by its own equation, in
    its reader's layout, and the sum as a whole is never stored."""
    x = rng.standard_normal((4, 8)).astype(np.float32)
    w = rng.standard_normal((8, 24)).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    c = rng.standard_normal((4, 6)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["xw"], name="proj"),
        helper.make_node("Add", ["xw", "b"], ["qkv"], name="bias"),
        helper.make_node("Slice", ["qkv", "s0", "e0", "ax"], ["q"], name="q"),
        helper.make_node("Slice", ["qkv", "s1", "e1", "ax"], ["k"], name="k"),
        helper.make_node("Slice", ["qkv", "s2", "e2", "ax"], ["v"], name="v"),
        helper.make_node("Relu", ["q"], ["y0"], name="relu"),
        helper.make_node("Transpose", ["k"], ["y1"], name="t", perm=[1, 0]),
        helper.make_node("Mul", ["v", "two"], ["y2"], name="twice"),
        helper.make_node("Exp", ["c"], ["ec"], name="exp"),
        helper.make_node("Split", ["ec", "sizes"], ["c0", "c1"], name="split",
                         axis=1),
        helper.make_node("Neg", ["c1"], ["y3"], name="neg"),
    ]
    ints = lambda n, v: init(n, np.array(v, dtype=np.int64))
    graph = helper.make_graph(
        nodes, "fused_parts",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8]),
         helper.make_tensor_value_info("c", TensorProto.FLOAT, [4, 6])],
        [helper.make_tensor_value_info("y0", TensorProto.FLOAT, [4, 8]),
         helper.make_tensor_value_info("y1", TensorProto.FLOAT, [8, 4]),
         helper.make_tensor_value_info("y2", TensorProto.FLOAT, [4, 8]),
         helper.make_tensor_value_info("c0", TensorProto.FLOAT, [4, 2]),
         helper.make_tensor_value_info("y3", TensorProto.FLOAT, [4, 4])],
        [init("w", w), init("b", b), init("two", np.float32(2)),
         ints("s0", [0]), ints("e0", [8]), ints("s1", [8]), ints("e1", [16]),
         ints("s2", [16]), ints("e2", [24]), ints("ax", [1]),
         ints("sizes", [2, 4])])
    qkv = x.astype(np.float64) @ w + b
    ec = np.exp(c.astype(np.float64))
    save(d, "fused_parts", graph, {"x": x, "c": c},
         {"y0": np.maximum(qkv[:, :8], 0), "y1": qkv[:, 8:16].T,
          "y2": 2 * qkv[:, 16:], "c0": ec[:, :2], "y3": -ec[:, 2:]})


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    attention(d)
    dynamic(d)
    unsupported(d)
    runtime_shape(d)
    products(d)
    causal(d)
    fused_parts(d)
    with open(os.path.join(d, "malformed.onnx"), "wb") as f:
        f.write(b"\x08\x07\x12\x05hello\x3a\xff\xff\xff")


if __name__ == "__main__":
    main()
