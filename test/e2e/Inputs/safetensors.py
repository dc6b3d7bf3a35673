#!/usr/bin/env python3
"""Writes the safetensors files of the weight tests (no numpy needed).

    safetensors.py OUT CASE

CASE is one of: good (W1: F16, W2: BF16, W3: F32, W4: F64 re-viewed, plus
__metadata__), empty (a valid file with an empty tensor), and broken files, each with one defect: short, badlen,
hugelen, badjson, notobject, nul, baddtype, badshape, badoffsets, pastend,
sizemismatch, overlap, int8.
"""
import json
import struct
import sys


def f16(x):
    return struct.pack("<e", x)


def bf16(x):
    return struct.pack("<f", x)[2:]  # the top half of the f32 (exact here)


def build(tensors, metadata=None, header_patch=None, data_patch=None):
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if header_patch:
        header_patch(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the writer aligns the data to 8 bytes
    if data_patch:
        data = data_patch(data)
    return struct.pack("<Q", len(text)) + text + data


GOOD = [
    ("w1", "F16", [4], b"".join(f16(x) for x in [1.0, -2.5, 65504.0, 2.0**-24])),
    ("w2", "BF16", [4], b"".join(bf16(x) for x in [1.0, -0.5, 2.0**127, 2.0**-126])),
    ("w3", "F32", [4], b"".join(struct.pack("<f", x) for x in [0.25, -1.0, 7.0, 1e-30])),
    ("w4", "F64", [2, 2], b"".join(struct.pack("<d", x) for x in [1.5, -2.0, 3.25, 1e30])),
]


def case(name):
    if name == "good":
        return build(GOOD, metadata={"format": "pt"})
    if name == "empty":  # a valid file with an empty tensor (read: no bytes)
        return build([("w1", "F32", [0], b""), ("w2", "F32", [1], b"\0" * 4)])
    if name == "short":
        return b"\x10\x00\x00"
    if name == "badlen":
        return struct.pack("<Q", 1000) + b"{}"
    if name == "hugelen":
        return struct.pack("<Q", 2**63) + b"{}" + b"\0" * 8
    if name == "badjson":
        return struct.pack("<Q", 8) + b'{"w1": ['
    if name == "notobject":
        return struct.pack("<Q", 2) + b"[]"
    if name == "nul":
        return struct.pack("<Q", 4) + b'{}\0 '
    if name == "baddtype":
        return build(GOOD, header_patch=lambda h: h["w1"].update(dtype="F17"))
    if name == "badshape":
        return build(GOOD, header_patch=lambda h: h["w1"].update(shape=[-4]))
    if name == "badoffsets":
        return build(GOOD, header_patch=lambda h: h["w1"].update(data_offsets=[8, 0]))
    if name == "pastend":
        return build(GOOD, data_patch=lambda d: d[:-8])
    if name == "sizemismatch":
        return build(GOOD, header_patch=lambda h: h["w3"].update(shape=[5]))
    if name == "overlap":
        return build(GOOD, header_patch=lambda h: h["w2"].update(
            data_offsets=[h["w1"]["data_offsets"][0] + 4,
                          h["w1"]["data_offsets"][0] + 12]))
    if name == "int8":
        return build([("w1", "I8", [4], b"\x01\x02\x03\x04")])
    raise SystemExit("unknown case " + name)


if __name__ == "__main__":
    with open(sys.argv[1], "wb") as f:
        f.write(case(sys.argv[2]))
