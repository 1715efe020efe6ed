#!/usr/bin/env python3
"""End-to-end decode and prefill speed: attn-infer bench against HF transformers on the same weights.

Makes a Llama-3.2-1B-shaped model with seeded random weights (fp16 or bf16 safetensors, no download needed),
runs `attn-infer bench` on it for the given backends, then times HF transformers (same dtype, sdpa attention,
static-shape greedy decode with torch.cuda events) on the same prompt lengths and depths, and prints one
markdown table with the roofline: decode tokens/s can be at most copy bandwidth / bytes read per token.

usage: tools/bench_end_to_end.py --binary build/attn-infer [--dtype fp16|bf16] [--backends sdp,naive]
"""
import argparse
import json
import os
import statistics
import subprocess

import torch
from transformers import LlamaConfig, LlamaForCausalLM

LLAMA_32_1B = dict(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                   num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=131072,
                   rope_theta=500000.0, tie_word_embeddings=True, rms_norm_eps=1e-5,
                   rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})


TORCH_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def make_model(model_dir, dtype):
    if os.path.exists(os.path.join(model_dir, "model.safetensors")):
        return
    torch.manual_seed(0)
    config = LlamaConfig(**LLAMA_32_1B, torch_dtype=str(dtype).removeprefix("torch."))
    model = LlamaForCausalLM(config).to(dtype)
    model.save_pretrained(model_dir, safe_serialization=True)


def copy_bandwidth_bytes_per_s():
    n = 1 << 28
    a = torch.randn(n, device="cuda", dtype=torch.float16)
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    times = []
    for _ in range(20):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        b.copy_(a)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return 2 * a.numel() * a.element_size() / statistics.median(times)


def hf_times(model_dir, dtype, prompt_lengths, depths, generate_tokens, repetitions):
    model = LlamaForCausalLM.from_pretrained(model_dir, torch_dtype=dtype, attn_implementation="sdpa").cuda()
    model.eval()
    vocab = model.config.vocab_size
    rows = []
    gen = torch.Generator(device="cpu").manual_seed(1)
    with torch.no_grad():
        for length in prompt_lengths:
            ids = torch.randint(1, vocab, (1, length), generator=gen).cuda()
            samples = []
            for r in range(repetitions + 1):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(ids, use_cache=False, logits_to_keep=1)
                end.record()
                torch.cuda.synchronize()
                if r:
                    samples.append(length / (start.elapsed_time(end) / 1e3))
            rows.append(("transformers", f"pp{length}", 0, statistics.median(samples)))
        for depth in depths:
            ids = torch.randint(1, vocab, (1, max(depth, 1)), generator=gen).cuda()
            samples = []
            for r in range(repetitions + 1):
                out = model(ids, use_cache=True, logits_to_keep=1)
                cache, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
                torch.cuda.synchronize()
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(generate_tokens):
                    out = model(token, past_key_values=cache, use_cache=True)
                    cache, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
                end.record()
                torch.cuda.synchronize()
                if r:
                    samples.append(generate_tokens / (start.elapsed_time(end) / 1e3))
            rows.append(("transformers", f"tg{generate_tokens}", depth, statistics.median(samples)))
    del model
    torch.cuda.empty_cache()
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--dtype", choices=sorted(TORCH_DTYPES), default="fp16",
                        help="weights in the checkpoint; attn-infer's auto keeps bf16 as bf16 on sm_80+")
    parser.add_argument("--model-dir", help="default /tmp/llama-3.2-1b-random-<dtype>")
    parser.add_argument("--backends", default="sdp,naive")
    parser.add_argument("--pp", default="512,4096")
    parser.add_argument("--depth", default="0,4096")
    parser.add_argument("--tg", type=int, default=64)
    parser.add_argument("-r", type=int, default=5)
    args = parser.parse_args()
    dtype = TORCH_DTYPES[args.dtype]
    args.model_dir = args.model_dir or f"/tmp/llama-3.2-1b-random-{args.dtype}"
    make_model(args.model_dir, dtype)
    prompt_lengths = [int(x) for x in args.pp.split(",")]
    depths = [int(x) for x in args.depth.split(",")]

    ours = json.loads(subprocess.run(
        [args.binary, "bench", "-m", args.model_dir, "--backends", args.backends, "--pp", args.pp, "--depth",
         args.depth, "--tg", str(args.tg), "-r", str(args.r), "-b", "4096", "--json"],
        check=True, capture_output=True, text=True).stdout)
    rows = [(r["backend"], r["test"], r["depth"], r["tokens_per_s"]) for r in ours]
    rows += hf_times(args.model_dir, dtype, prompt_lengths, depths, args.tg, args.r)

    config = LlamaConfig(**LLAMA_32_1B)
    hidden, layers, ffn, vocab = config.hidden_size, config.num_hidden_layers, config.intermediate_size, config.vocab_size
    kv = config.num_key_value_heads * config.head_dim
    weight_bytes = 2 * (vocab * hidden + layers * (hidden * (hidden + 2 * kv) + hidden * hidden + 3 * hidden * ffn))
    bandwidth = copy_bandwidth_bytes_per_s()
    print(f"GPU: {torch.cuda.get_device_name()}, {args.dtype} checkpoint, copy bandwidth {bandwidth / 1e12:.2f} TB/s, "
          f"weights {weight_bytes / 2**30:.2f} GiB, torch {torch.__version__}")
    print("| engine/backend | test | depth | tokens/s | decode roofline tokens/s | achieved/roofline |")
    print("|---|---|---|---|---|---|")
    for engine, test, depth, rate in rows:
        roofline = ""
        ratio = ""
        if test.startswith("tg"):
            kv_bytes = 2 * layers * kv * 2 * (depth + args.tg / 2)
            floor = bandwidth / (weight_bytes + kv_bytes)
            roofline, ratio = f"{floor:.0f}", f"{rate / floor:.2f}"
        print(f"| {engine} | {test} | {depth} | {rate:.1f} | {roofline} | {ratio} |")


if __name__ == "__main__":
    main()
