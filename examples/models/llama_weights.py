#!/usr/bin/env python3
"""Writes random weights for llama.ein with the names and shapes of a
Hugging Face Llama checkpoint ("model.layers.N.self_attn.q_proj.weight", ...;
nn.Linear weights stored [out, in]), and optionally the rotary tables.

  python3 llama_weights.py OUT.safetensors [--config tinyllama|small]
          [--seed S] [--dtype f32|f16|bf16] [--tables DIR] [--tokens P]

--config tinyllama: TinyLlama-1.1B's shapes (D=2048, 32 query heads, 4 KV
heads, head dim 64, F=5632, 22 layers, vocabulary 32000): 4.4 GB in f32,
2.2 GB in bf16. --config small (the test suite's): D=64, 4 query heads, 2 KV
heads, head dim 16, F=96, vocabulary 128, 22 layers; compile it with
  cascade run llama.ein --set D=64 --set G=2 --set R=2 --set E2=8 \\
      --set F=96 --set V=128 --set P=16 --weights OUT.safetensors ...
--tables DIR writes DIR/COS.npy and DIR/SIN.npy, [head_dim/2, P] for
positions 0..P-1 (theta 10000), the inputs llama.ein takes.
"""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from random_safetensors import write_npy, write_safetensors  # noqa: E402

CONFIGS = {
    "tinyllama": dict(layers=22, hidden=2048, heads=32, kv_heads=4,
                      head_dim=64, intermediate=5632, vocab=32000),
    "small": dict(layers=22, hidden=64, heads=4, kv_heads=2, head_dim=16,
                  intermediate=96, vocab=128),
}


def tensors(layers, hidden, heads, kv_heads, head_dim, intermediate, vocab):
    out = []
    for n in range(layers):
        p = "model.layers.%d." % n
        out += [
            (p + "input_layernorm.weight", [hidden], "gain"),
            (p + "self_attn.q_proj.weight", [heads * head_dim, hidden],
             "matrix"),
            (p + "self_attn.k_proj.weight", [kv_heads * head_dim, hidden],
             "matrix"),
            (p + "self_attn.v_proj.weight", [kv_heads * head_dim, hidden],
             "matrix"),
            (p + "self_attn.o_proj.weight", [hidden, heads * head_dim],
             "matrix"),
            (p + "post_attention_layernorm.weight", [hidden], "gain"),
            (p + "mlp.gate_proj.weight", [intermediate, hidden], "matrix"),
            (p + "mlp.up_proj.weight", [intermediate, hidden], "matrix"),
            (p + "mlp.down_proj.weight", [hidden, intermediate], "matrix"),
        ]
    out += [("model.norm.weight", [hidden], "gain"),
            ("lm_head.weight", [vocab, hidden], "matrix")]
    return out


def write_tables(folder, head_dim, tokens, theta=10000.0):
    half = head_dim // 2
    cos, sin = [], []
    for e2 in range(half):
        freq = theta ** (-2.0 * e2 / head_dim)
        cos += [math.cos(p * freq) for p in range(tokens)]
        sin += [math.sin(p * freq) for p in range(tokens)]
    os.makedirs(folder, exist_ok=True)
    write_npy(os.path.join(folder, "COS.npy"), [half, tokens], cos)
    write_npy(os.path.join(folder, "SIN.npy"), [half, tokens], sin)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--config", choices=sorted(CONFIGS), default="tinyllama")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
    ap.add_argument("--tables", metavar="DIR")
    ap.add_argument("--tokens", type=int, default=None,
                    help="P for --tables (default: 128, small: 16)")
    a = ap.parse_args()
    config = CONFIGS[a.config]
    size = write_safetensors(a.out, tensors(**config), a.dtype, a.seed)
    print("wrote %s: Llama %s, %.1f MB" % (a.out, a.config, size / 1e6))
    if a.tables:
        tokens = a.tokens or (16 if a.config == "small" else 128)
        write_tables(a.tables, config["head_dim"], tokens)
        print("wrote %s/COS.npy, SIN.npy for %d tokens" % (a.tables, tokens))


if __name__ == "__main__":
    main()
