"""bench/gpu/torch_bench.py -- the PyTorch side of bench/gpu/run.sh: times
scaled_dot_product_attention (flash backend in f16, and f32) and
torch.matmul (cuBLAS, f32 and f16) at the shapes bench/gpu/prepare.sh
compiles, with CUDA events, median of N runs after warm-up. Prints
`NAME variant median_ms` lines."""
import sys

import torch
import torch.nn.functional as F


def median_ms(fn, runs):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    dev = "cuda"
    for seq in (1024, 4096, 16384):
        for causal in (False, True):
            name = ("attn_causal_s%d" if causal else "attn_s%d") % seq
            for dtype, variant in ((torch.float16, "torch_flash_f16"),
                                   (torch.float32, "torch_sdpa_f32")):
                q, k, v = (torch.randn(1, 16, seq, 64, device=dev, dtype=dtype)
                           for _ in range(3))
                ctx = (torch.nn.attention.sdpa_kernel(
                    torch.nn.attention.SDPBackend.FLASH_ATTENTION)
                       if dtype == torch.float16 else None)
                def run():
                    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                if ctx:
                    with ctx:
                        ms = median_ms(run, runs)
                else:
                    ms = median_ms(run, runs)
                print(f"{name} {variant} {ms:.4f}", flush=True)
    for name, (m, k, n) in {"gemm_4096": (4096, 4096, 4096),
                            "gemm_128x768x768": (128, 768, 768),
                            "gemm_128x768x3072": (128, 768, 3072),
                            "gemm_2048x4096x4096": (2048, 4096, 4096)}.items():
        for dtype, variant in ((torch.float32, "torch_cublas_f32"),
                               (torch.float16, "torch_cublas_f16")):
            a = torch.randn(m, k, device=dev, dtype=dtype)
            b = torch.randn(k, n, device=dev, dtype=dtype)
            print(f"{name} {variant} {median_ms(lambda: a @ b, runs):.4f}",
                  flush=True)


if __name__ == "__main__":
    main()
