#!/usr/bin/env python3
"""Writes random weights for bert_base.ein with the names and shapes of a
Hugging Face BERT checkpoint ("bert.encoder.layer.N...."; nn.Linear weights
stored [out, in]), so a real checkpoint's encoder loads the same way.

  python3 bert_weights.py OUT.safetensors [--config base|small] [--seed S]
                          [--dtype f32|f16|bf16]

--config base: BERT-base (D=768, 12 heads of 64, F=3072), 12 layers, 340 MB
in f32. --config small (the test suite's): D=32, 2 heads of 16, F=64, 12
layers; compile it with the matching ranks:
  cascade run bert_base.ein --set D=32 --set H=2 --set E=16 --set F=64 \\
      --set P=16 --weights OUT.safetensors --random-inputs --check
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from random_safetensors import write_safetensors  # noqa: E402

CONFIGS = {
    "base": dict(layers=12, hidden=768, intermediate=3072),
    "small": dict(layers=12, hidden=32, intermediate=64),
}


def tensors(layers, hidden, intermediate):
    out = []
    for n in range(layers):
        p = "bert.encoder.layer.%d." % n
        for proj in ("query", "key", "value"):
            out.append((p + "attention.self.%s.weight" % proj,
                        [hidden, hidden], "matrix"))
            out.append((p + "attention.self.%s.bias" % proj, [hidden],
                        "matrix"))
        out += [
            (p + "attention.output.dense.weight", [hidden, hidden], "matrix"),
            (p + "attention.output.dense.bias", [hidden], "matrix"),
            (p + "attention.output.LayerNorm.weight", [hidden], "gain"),
            (p + "attention.output.LayerNorm.bias", [hidden], "matrix"),
            (p + "intermediate.dense.weight", [intermediate, hidden],
             "matrix"),
            (p + "intermediate.dense.bias", [intermediate], "matrix"),
            (p + "output.dense.weight", [hidden, intermediate], "matrix"),
            (p + "output.dense.bias", [hidden], "matrix"),
            (p + "output.LayerNorm.weight", [hidden], "gain"),
            (p + "output.LayerNorm.bias", [hidden], "matrix"),
        ]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--config", choices=sorted(CONFIGS), default="base")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
    a = ap.parse_args()
    size = write_safetensors(a.out, tensors(**CONFIGS[a.config]), a.dtype,
                             a.seed)
    print("wrote %s: BERT %s, %.1f MB" % (a.out, a.config, size / 1e6))


if __name__ == "__main__":
    main()
