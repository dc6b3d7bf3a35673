#!/usr/bin/env python3
"""Writes a safetensors file of F32 tensors with seeded normal values (no
numpy needed).

    write_safetensors.py OUT NAME=D0,D1,... [NAME=...]
"""
import json
import random
import struct
import sys

rng = random.Random(1)
header, data = {}, b""
for spec in sys.argv[2:]:
    name, dims = spec.split("=")
    shape = [int(d) for d in dims.split(",")]
    count = 1
    for d in shape:
        count *= d
    raw = struct.pack("<%df" % count, *[rng.gauss(0, 1) for _ in range(count)])
    header[name] = {"dtype": "F32", "shape": shape,
                    "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
