#!/usr/bin/env python3
"""The shapes of tools/bench_attention.cpp through torch's scaled_dot_product_attention, forced to each of
its backends (flash, efficient = xformers' CUTLASS kernel, math), printed as the same table: median of 20
CUDA-event timings after 3 warm-ups, random inputs, TFLOP/s = 4*b*h*s^2*d (halved when causal) for
prefill and GB/s of K/V read for decode. Usage: python3 tools/bench_attention.py [prefill|decode|long]"""
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

# (batch, n_heads, n_kv_heads, q_len, kv_len, head_dim, causal); kept in step with kShapes in the C++ benchmark.
SHAPES = [
    (4, 32, 8, 1024, 1024, 128, True), (4, 32, 8, 1024, 1024, 128, False), (1, 32, 8, 4096, 4096, 128, True),
    (4, 32, 32, 1024, 1024, 64, True), (2, 16, 16, 2048, 2048, 256, True), (4, 32, 8, 1024, 1024, 80, True),
    (1, 32, 8, 1, 4096, 128, False), (16, 32, 8, 1, 4096, 128, False), (16, 32, 8, 1, 16384, 128, False),
    (64, 32, 32, 1, 2048, 128, False), (1, 32, 32, 4096, 4096, 64, True), (1, 32, 8, 16384, 16384, 128, True),
    # `long` (torch has no sliding-window kernel to compare the 32k windowed prefill with).
    (1, 32, 8, 1, 32768, 128, False), (1, 32, 8, 1, 131072, 128, False), (1, 32, 8, 32768, 32768, 128, True),
]
BACKENDS = [("flash", SDPBackend.FLASH_ATTENTION), ("efficient", SDPBackend.EFFICIENT_ATTENTION),
            ("math", SDPBackend.MATH)]


def describe(b, h, kvh, q, kv, d, causal):
    return f"b{b} h{h}/{kvh} q{q} kv{kv} d{d}" + (" causal" if causal else "")


def time_ms(call):
    for _ in range(3):
        call()
    times = []
    for _ in range(20):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        call()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}")
    print(f"{'backend':<10} {'variant':<7} {'shape':<34} {'ms':>10} {'rate':>12}")
    for b, h, kvh, q_len, kv_len, d, causal in SHAPES:
        decode = q_len == 1
        if (only == "long") != (kv_len >= 32768):
            continue
        if (only == "prefill" and decode) or (only == "decode" and not decode):
            continue
        # Uniform in [-1, 1): random, never all zeros.
        q = torch.rand(b, h, q_len, d, device="cuda", dtype=torch.float16) * 2 - 1
        k = torch.rand(b, kvh, kv_len, d, device="cuda", dtype=torch.float16) * 2 - 1
        v = torch.rand(b, kvh, kv_len, d, device="cuda", dtype=torch.float16) * 2 - 1
        shape = describe(b, h, kvh, q_len, kv_len, d, causal)
        for name, backend in BACKENDS:
            if name == "math" and not decode and q_len > 2048:
                continue  # the math path materialises b*h*s^2 fp32 scores
            ms = None
            # Backends without native GQA get K/V repeated per query head (memory they would not read).
            for kk, vv, gqa in ((k, v, kvh != h), (k.repeat_interleave(h // kvh, 1), v.repeat_interleave(h // kvh, 1), False)):
                try:
                    with sdpa_kernel(backend):
                        ms = time_ms(lambda: F.scaled_dot_product_attention(q, kk, vv, is_causal=causal, enable_gqa=gqa))
                    break
                except RuntimeError as error:
                    reason = str(error).splitlines()[0][:80]
            if ms is None:
                print(f"{name:<10} {'torch':<7} {shape:<34}   skipped: {reason}")
                continue
            if decode:
                rate, unit = 2 * b * kv_len * kvh * d * 2 / ms / 1e6, "GB/s"
            else:
                rate, unit = 4 * b * h * q_len * kv_len * d / (2 if causal else 1) / ms / 1e9, "TFLOP/s"
            print(f"{name:<10} {'torch':<7} {shape:<34} {ms:10.3f} {rate:8.1f} {unit}", flush=True)


if __name__ == "__main__":
    main()
