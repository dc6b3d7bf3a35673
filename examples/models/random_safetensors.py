"""Random weights written as safetensors files, with no dependencies.

The model scripts (bert_weights.py, llama_weights.py) describe each tensor by
its checkpoint name, shape and kind; this module draws the values and writes
the file (https://huggingface.co/docs/safetensors: an 8-byte little-endian
header length, a JSON header, then the raw little-endian data).

Values are drawn from random bits, not from a normal distribution, so that
hundreds of megabytes take seconds in pure Python: each element gets a
random sign and mantissa and a random exponent among a few, by masking
random bytes as one big integer. The result is deterministic for a seed.
  matrix: magnitudes in [2^-7, 2^-3) (about 0.008 to 0.125), either sign
  gain:   magnitudes in [0.5, 2), positive (norm weights)
"""

import json
import random
import struct

# dtype: (safetensors name, bytes, exponent bits, mantissa bits, bias)
DTYPES = {
    "f32": ("F32", 4, 8, 23, 127),
    "f16": ("F16", 2, 5, 10, 15),
    "bf16": ("BF16", 2, 8, 7, 127),
}

# kind: (signed, smallest unbiased exponent, random exponent bits)
KINDS = {
    "matrix": (True, -7, 2),
    "gain": (False, -1, 1),
}


def random_tensor(rng, count, dtype, kind):
    """`count` random elements of `dtype` as little-endian bytes."""
    _, width, exp_bits, mant_bits, bias = DTYPES[dtype]
    signed, low_exp, rand_exp_bits = KINDS[kind]
    field = low_exp + bias
    assert field % (1 << rand_exp_bits) == 0, "exponent base must be aligned"
    mask = (1 << mant_bits) - 1
    mask |= ((1 << rand_exp_bits) - 1) << mant_bits
    if signed:
        mask |= 1 << (width * 8 - 1)
    bits = field << mant_bits
    size = count * width
    value = int.from_bytes(rng.randbytes(size), "little")
    value &= int.from_bytes(mask.to_bytes(width, "little") * count, "little")
    value |= int.from_bytes(bits.to_bytes(width, "little") * count, "little")
    return value.to_bytes(size, "little")


def write_safetensors(path, tensors, dtype="f32", seed=0):
    """Writes `tensors`, a list of (name, shape, kind), with random values.

    The data is written tensor by tensor, so memory stays at one tensor.
    """
    st_dtype, width = DTYPES[dtype][0], DTYPES[dtype][1]
    header, offset = {}, 0
    for name, shape, _ in tensors:
        count = 1
        for d in shape:
            count *= d
        header[name] = {"dtype": st_dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + count * width]}
        offset += count * width
    header["__metadata__"] = {"format": "pt", "writer": "cascade random"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # data starts 8-byte aligned
    rng = random.Random(seed)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape, kind in tensors:
            count = 1
            for d in shape:
                count *= d
            f.write(random_tensor(rng, count, dtype, kind))
    return offset


def write_npy(path, shape, values):
    """A '<f4' .npy file (format 1.0) holding `values` in C order."""
    desc = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join("%d, " % d for d in shape) if len(shape) != 1
        else "%d," % shape[0])
    pad = -(10 + len(desc) + 1) % 64
    header = (desc + " " * pad + "\n").encode()
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header)
        f.write(struct.pack("<%df" % len(values), *values))
