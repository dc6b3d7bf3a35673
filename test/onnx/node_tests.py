#!/usr/bin/python3
"""Runs ONNX's backend node tests (Debian's libonnx-testdata) through
`cascade run MODEL.onnx` and compares every output with the expected
TensorProto, as ONNX's own backend test runner does (rtol 1e-3, atol 1e-7
by default; a test may carry its own).

Usage: node_tests.py CASCADE [--data DIR] [--only REGEX] [--list FILE]
                     [--report FILE] [--min-pass FRACTION] [-v]

The tests are those whose graph is one node of an operator Cascade imports
(the issue's transformer set), plus the `_expanded` forms made only of such
operators. Prints one line per operator (passed/total) and the closing line
`N passed, N failed, N skipped`; a test listed in --known with a reason is
expected to fail and counts as skipped while it does (a known failure that
passes is reported). Exits 1 when the pass rate is below --min-pass or a
test fails that is not known.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

OPERATORS = """MatMul Gemm Einsum Add Sub Mul Div Pow Neg Exp Log Sqrt Reciprocal
Erf Tanh Sigmoid Relu Where Equal Less Greater Softmax LogSoftmax
LayerNormalization ReduceMean ReduceSum ReduceMax Transpose Reshape Flatten
Squeeze Unsqueeze Concat Slice Split Constant ConstantOfShape Cast Gather""".split()


def file_stem(name):
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def select_tests(data):
    """(test name, operator) for every test of a listed operator."""
    tests = []
    for name in sorted(os.listdir(data)):
        path = os.path.join(data, name, "model.onnx")
        if not os.path.exists(path):
            continue
        model = onnx.load(path)
        ops = {n.op_type for n in model.graph.node}
        if len(model.graph.node) == 1 and ops <= set(OPERATORS):
            tests.append((name, model.graph.node[0].op_type))
        elif name.endswith("_expanded") and ops <= set(OPERATORS):
            base = os.path.join(data, name[: -len("_expanded")], "model.onnx")
            if os.path.exists(base):
                op = onnx.load(base).graph.node[0].op_type
                if op in OPERATORS:
                    tests.append((name, op + " (expanded)"))
    return tests


def load_pb(path, elem_type=None):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    a = numpy_helper.to_array(t)
    if onnx.TensorProto.BFLOAT16 in (t.data_type, elem_type):
        # bfloat16 arrives as its bits (some test data even stores it as
        # UINT16); .npy has no bfloat16: widen to float32.
        a = (a.astype(np.uint32) << 16).view(np.float32)
    return a


def elem_types(values):
    return [v.type.tensor_type.elem_type for v in values]


def run_test(cascade, data, name, tmp, verbose):
    """'pass', or 'fail: why'."""
    d = os.path.join(data, name)
    model = onnx.load(os.path.join(d, "model.onnx"))
    inits = {i.name for i in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in inits]
    inputs = [i.name for i in graph_inputs]
    in_types = elem_types(graph_inputs)
    outputs = [o.name for o in model.graph.output]
    out_types = elem_types(model.graph.output)
    sets = sorted(os.path.join(d, s) for s in os.listdir(d)
                  if s.startswith("test_data_set"))
    for s in sets:
        cmd = [cascade, "run", os.path.join(d, "model.onnx"), "--no-tuning-db",
               "--output-dir", os.path.join(tmp, "out")]
        for i, n in enumerate(inputs):
            arr = load_pb(os.path.join(s, f"input_{i}.pb"), in_types[i])
            if arr.dtype == object:
                return "fail: string input"
            f = os.path.join(tmp, f"in{i}.npy")
            np.save(f, np.ascontiguousarray(arr))
            cmd += ["--input", f"{n}={f}"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            msg = [l for l in r.stderr.splitlines() if "error" in l]
            return "fail: " + (msg or ["exit %d" % r.returncode])[0][:300]
        for k, n in enumerate(outputs):
            want = load_pb(os.path.join(s, f"output_{k}.pb"), out_types[k])
            got = np.load(os.path.join(tmp, "out", file_stem(n) + ".npy"))
            if got.shape != want.shape:
                return f"fail: output {n} has shape {got.shape}, want {want.shape}"
            w = want.astype(np.float64)
            if not np.allclose(got.astype(np.float64), w, rtol=1e-3, atol=1e-7,
                               equal_nan=True):
                err = np.max(np.abs(got - w))
                return f"fail: output {n} differs (max abs error {err:.3g})"
    return "pass"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cascade")
    p.add_argument("--data", default="/usr/share/libonnx-testdata/data/node")
    p.add_argument("--only", default="")
    p.add_argument("--known", help="file of 'test_name: reason' lines")
    p.add_argument("--report", help="write the per-operator table here")
    p.add_argument("--min-pass", type=float, default=0.95)
    p.add_argument("-v", action="store_true")
    a = p.parse_args()
    if not os.path.isdir(a.data):
        print(f"skipped: {a.data} is missing (install libonnx-testdata)")
        print("0 passed, 0 failed, 1 skipped")
        return 77
    known = {}
    if a.known:
        for line in open(a.known):
            line = line.strip()
            if line and not line.startswith("#"):
                t, _, why = line.partition(":")
                known[t.strip()] = why.strip()
    tests = [t for t in select_tests(a.data) if re.search(a.only, t[0])]
    per_op = {}
    passed = failed = skipped = 0
    unexpected = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, op in tests:
            result = run_test(a.cascade, a.data, name, tmp, a.v)
            ok = result == "pass"
            per_op.setdefault(op, [0, 0])
            per_op[op][1] += 1
            if ok:
                per_op[op][0] += 1
                passed += 1
                if name in known:
                    unexpected.append(f"{name}: passes but is listed as known")
            elif name in known:
                skipped += 1
            else:
                failed += 1
                unexpected.append(f"{name}: {result}")
            if a.v or (not ok and name not in known):
                print(f"{'PASS' if ok else 'FAIL'} {name} {'' if ok else result}")
    lines = ["| operator | passed | tests |", "| --- | --- | --- |"]
    for op in sorted(per_op):
        lines.append(f"| {op} | {per_op[op][0]} | {per_op[op][1]} |")
    total = passed + failed + skipped
    rate = passed / total if total else 0
    lines.append(f"| all | {passed} | {total} ({100 * rate:.1f}%) |")
    print("\n".join(lines))
    if a.report:
        with open(a.report, "w") as f:
            f.write("\n".join(lines) + "\n")
    for u in unexpected:
        print("unexpected:", u)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if rate >= a.min_pass and not unexpected else 1


if __name__ == "__main__":
    sys.exit(main())
