#!/usr/bin/env python3
"""The longest context that fits a GPU memory budget: `attn-infer fit` against HF transformers, same weights.

Makes the Llama-3.2-1B-shaped model of bench_end_to_end.py (seeded random fp16 weights), runs
`attn-infer fit` under each --gpu-mem-limit, then finds the same for transformers (fp16 weights, sdpa
attention, its default dynamic fp16 cache) with torch's caching allocator capped to the same bytes
(torch.cuda.set_per_process_memory_fraction): a length fits when a prefill of it (logits of the last token
only) and 16 greedy decode steps run without running out. Both searches try multiples of --step up to
--max-ctx. Neither count includes the CUDA context; torch's count includes cuBLAS's workspace, ours does not
(our `card used` column does: what the card gave during the run).

usage: tools/bench_context_fit.py --binary build/attn-infer [--limits 4GiB,6GiB] [--max-ctx 1048576]
"""
import argparse
import json
import subprocess

import torch
from transformers import LlamaForCausalLM

from bench_end_to_end import make_model

UNITS = {"GiB": 2**30, "MiB": 2**20}
DECODE_STEPS = 16


def parse_bytes(text):
    for unit, scale in UNITS.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * scale)
    return int(text)


def hf_fits(model, length, vocab):
    """Prefill length - 16 tokens, then 16 greedy steps; False when torch runs out of memory."""
    try:
        with torch.no_grad():
            ids = torch.randint(1, vocab, (1, length - DECODE_STEPS), device="cuda")
            out = model(ids, use_cache=True, logits_to_keep=1)
            cache, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
            for _ in range(DECODE_STEPS):
                out = model(token, past_key_values=cache, use_cache=True)
                cache, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
            torch.cuda.synchronize()
        return True
    except torch.OutOfMemoryError:
        return False
    finally:
        out = cache = ids = token = None
        torch.cuda.empty_cache()


def hf_longest(model_dir, limit_bytes, max_context, step):
    """The search of src/runtime/context_fit.cpp: max_context first, then bisection over multiples of step."""
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, limit_bytes / total))
    try:
        model = LlamaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float16, attn_implementation="sdpa").cuda()
    except torch.OutOfMemoryError:
        return 0
    model.eval()
    vocab = model.config.vocab_size
    if hf_fits(model, max_context, vocab):
        found = max_context
    else:
        lo, hi = 0, (max_context - 1) // step + 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if mid * step > DECODE_STEPS and hf_fits(model, mid * step, vocab):
                lo = mid
            else:
                hi = mid
        found = lo * step
    del model
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(1.0)
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--model-dir", default="/tmp/llama-3.2-1b-random-fp16")
    parser.add_argument("--limits", default="4GiB")
    parser.add_argument("--backends", default="flash,xformers,sdp,naive")
    parser.add_argument("--kv-cache", default="fp16,q8,q4")
    parser.add_argument("--max-ctx", type=int, default=1 << 20)
    parser.add_argument("--step", type=int, default=256)
    parser.add_argument("--no-check", action="store_true")
    args = parser.parse_args()
    make_model(args.model_dir, torch.float16)

    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}; contexts up to {args.max_ctx} "
          f"in steps of {args.step}")
    print("| memory | engine/backend | kv cache | longest context | run: card used | prefill tokens/s | decode tokens/s "
          "| refused one step on |")
    print("|---|---|---|---|---|---|---|---|")
    for limit in args.limits.split(","):
        command = [args.binary, "fit", "-m", args.model_dir, "--gpu-mem-limit", limit, "--backends", args.backends,
                   "--kv-cache", args.kv_cache, "--max-ctx", str(args.max_ctx), "--step", str(args.step), "--json"]
        if args.no_check:
            command.append("--no-check")
        rows = json.loads(subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout)
        for row in rows:
            if "refused" in row:
                print(f"| {limit} | {row['backend']} | {row['kv_cache']} | refused: {row['refused']} | | | | |")
                continue
            plus = "+" if row["reached_upper"] else ""
            used = f"{row['card_used_bytes'] / 2**30:.2f} GiB" if row["checked"] else "-"
            prefill = f"{row['prefill_tokens_per_s']:.0f}" if row["checked"] else "-"
            decode = f"{row['decode_tokens_per_s']:.1f}" if row["checked"] else "-"
            limited = "-" if row["reached_upper"] else row["limit"]
            print(f"| {limit} | {row['backend']} | {row['kv_cache']} | {row['context']}{plus} | {used} | {prefill} "
                  f"| {decode} | {limited} |", flush=True)
        found = hf_longest(args.model_dir, parse_bytes(limit), args.max_ctx, args.step)
        print(f"| {limit} | transformers sdpa | fp16 (dynamic) | {found} | | | | |", flush=True)


if __name__ == "__main__":
    main()
