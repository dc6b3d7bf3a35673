#!/usr/bin/env python3
"""Prints a little-endian f4 .npy file's shape as NumPy writes it, (32, 32),
or with --first N, its first N values (no numpy needed)."""
import ast
import struct
import sys

with open(sys.argv[1], "rb") as f:
    head = f.read(10)
    length = struct.unpack("<H", head[8:10])[0]
    meta = ast.literal_eval(f.read(length).decode("latin1"))
    if len(sys.argv) > 3 and sys.argv[2] == "--first":
        n = int(sys.argv[3])
        print(" ".join(repr(v) for v in struct.unpack("<%df" % n, f.read(4 * n))))
    else:
        print(meta["shape"])
