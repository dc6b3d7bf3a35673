#!/usr/bin/env python3
"""Packs float32 .npy files into one safetensors file (F32, no numpy needed).

    npy_to_safetensors.py OUT KEY=FILE.npy ...
"""
import ast
import json
import struct
import sys


def read_npy(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:6] != b"\x93NUMPY":
        sys.exit(f"{path}: not a .npy file")
    major = raw[6]
    size = struct.unpack("<H" if major == 1 else "<I", raw[8:10] if major == 1 else raw[8:12])[0]
    start = (10 if major == 1 else 12) + size
    header = ast.literal_eval(raw[(10 if major == 1 else 12):start].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        sys.exit(f"{path}: expected little-endian float32 in C order")
    return list(header["shape"]), raw[start:]


def main():
    out, specs = sys.argv[1], sys.argv[2:]
    header, data = {}, b""
    for spec in specs:
        key, path = spec.split("=", 1)
        shape, raw = read_npy(path)
        header[key] = {"dtype": "F32", "shape": shape,
                       "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


main()
