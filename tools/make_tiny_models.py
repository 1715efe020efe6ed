#!/usr/bin/env python3
"""Tiny random Hugging Face models with golden outputs from transformers, for the C++ engine's tests.

Each model under tests/data/models/<name>/ is a normal HF folder (config.json, safetensors, tokenizer
files, generation_config.json) plus golden.json. Each exercises one set of architecture details; see
docs/REFERENCE_SEMANTICS.md for what transformers does with them.

Goldens are exact for the stored weights: the weights are rounded to their storage dtype first, the
folder is written, and the goldens come from loading that folder back in fp32 with eager attention,
the way the engine computes. Everything is seeded, so a rerun rewrites the same files.

    python3 tools/make_tiny_models.py [NAME ...]      # default: all models
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_tokenizers import write_model_tokenizer_files  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "tests/data/models"

GREEDY_TOKENS = 32
GOLDEN_POSITIONS = 4  # logits are kept for the last this-many prompt positions
# Long enough to cross the sliding windows below, with digits, punctuation and a newline.
PROMPT_TEXT = ("The quick brown fox jumps over the lazy dog. In 1969, 12 astronauts walked on the Moon;\n"
               "def fibonacci(n): return n")

# Initialisation scales. 0.02-style init gives near-uniform logits; these keep every stage O(1) so that
# attention is neither uniform nor one-hot and the logits have a clear spread (std ~ LM_HEAD_GAIN).
EMBEDDING_STD = 1.0
NORM_WEIGHT_STD = 0.1  # RMSNorm weights are 1 + N(0, this)
BIAS_STD = 0.3
LM_HEAD_GAIN = 2.0

# name -> (model class, storage dtype, tokenizer flavour, prompt length, seed, shard size, config.json).
# config.json is written in the Hub's usual key style (rope_theta + rope_scaling, torch_dtype) except where
# "keep_transformers_config" asks to keep what transformers 5 save_pretrained writes (rope_parameters,
# layer_types, dtype): real folders come in both styles.
MODELS = {
    # GQA 4 heads / 2 kv heads; llama3 rope: with head_dim 16, theta 1e4 and L=64 the frequency bands are
    # kept (i=0), smoothed (i=1,2) and divided by factor (i>=3).
    "tiny-llama": dict(
        model_class="LlamaForCausalLM", storage_dtype=torch.float32, tokenizer="byte_level_llama3",
        prompt_tokens=32, seed=1001, max_shard_size=None,
        config={
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "vocab_size": 512, "hidden_size": 64, "intermediate_size": 192, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "hidden_act": "silu",
            "max_position_embeddings": 256, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
            "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
            "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": False,
            "torch_dtype": "float32",
        }),
    # MQA (1 kv head), every layer windowed to the last 8 keys, tied lm_head, no head_dim key.
    "tiny-mistral": dict(
        model_class="MistralForCausalLM", storage_dtype=torch.bfloat16, tokenizer="spm_llama2",
        prompt_tokens=28, seed=1002, max_shard_size=None,
        config={
            "architectures": ["MistralForCausalLM"], "model_type": "mistral",
            "vocab_size": 512, "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 1, "hidden_act": "silu",
            "max_position_embeddings": 256, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
            "sliding_window": 8, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
        }),
    # q/k/v biases; yarn (factor 4, L=32, head_dim 32: ramp 0, 1/3, 2/3 on i=0..2, then /factor;
    # cos/sin scaled by 0.1*ln(4)+1); vocab padded past the tokenizer's 512 like real Qwen checkpoints;
    # sliding_window is set but use_sliding_window is false, so transformers ignores it (full attention).
    "tiny-qwen2": dict(
        model_class="Qwen2ForCausalLM", storage_dtype=torch.float16, tokenizer="byte_level_qwen2",
        prompt_tokens=36, seed=1003, max_shard_size="700KB",
        config={
            "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
            "vocab_size": 576, "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 3,
            "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
            "max_position_embeddings": 128, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
            "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32},
            "use_sliding_window": False, "sliding_window": 8, "max_window_layers": 3,
            "tie_word_embeddings": False, "torch_dtype": "float16",
        }),
    # As tiny-qwen2 with the window on. Qwen2Config (configuration_qwen2.py:87-93) makes layer i a
    # sliding layer iff use_sliding_window and i >= max_window_layers: layer 0 is full, layers 1 and 2
    # see the last 6 keys.
    "tiny-qwen2-swa": dict(
        model_class="Qwen2ForCausalLM", storage_dtype=torch.float16, tokenizer="byte_level_qwen2",
        prompt_tokens=30, seed=1004, max_shard_size="700KB",
        config={
            "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
            "vocab_size": 576, "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 3,
            "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
            "max_position_embeddings": 128, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
            "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32},
            "use_sliding_window": True, "sliding_window": 6, "max_window_layers": 1,
            "tie_word_embeddings": False, "torch_dtype": "float16",
        }),
    # q_norm/k_norm per head; head_dim 32 while hidden/heads = 16; linear rope (factor 2).
    # config.json as transformers 5 writes it (rope_parameters, layer_types, dtype).
    "tiny-qwen3": dict(
        model_class="Qwen3ForCausalLM", storage_dtype=torch.float32, tokenizer="byte_level_gpt2",
        prompt_tokens=24, seed=1005, max_shard_size=None, keep_transformers_config=True,
        config={
            "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
            "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32, "hidden_act": "silu",
            "max_position_embeddings": 256, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
            "rope_scaling": {"rope_type": "linear", "factor": 2.0},
            "attention_bias": False, "use_sliding_window": False, "tie_word_embeddings": False,
            "torch_dtype": "float32",
        }),
    # Head sizes the GPU flash/xformers kernels are built for, so that the whole-model GPU tests run them:
    # head_dim 64 with GQA, and head_dim 128 with a sliding window smaller than the prompt.
    "tiny-llama-hd64": dict(
        model_class="LlamaForCausalLM", storage_dtype=torch.float16, tokenizer="byte_level_llama3",
        prompt_tokens=40, seed=1006, max_shard_size=None,
        config={
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "vocab_size": 512, "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "hidden_act": "silu",
            "max_position_embeddings": 256, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
            "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": True,
            "torch_dtype": "float16",
        }),
    "tiny-mistral-hd128": dict(
        model_class="MistralForCausalLM", storage_dtype=torch.float16, tokenizer="spm_llama2",
        prompt_tokens=40, seed=1007, max_shard_size=None,
        config={
            "architectures": ["MistralForCausalLM"], "model_type": "mistral",
            "vocab_size": 512, "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 128, "hidden_act": "silu",
            "max_position_embeddings": 256, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
            "sliding_window": 12, "tie_word_embeddings": False, "torch_dtype": "float16",
        }),
}


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def special_token_ids(tokenizer_dir: Path) -> dict:
    """bos/eos ids named by the tokenizer files, for config.json and generation_config.json."""
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id}
    return {key: value for key, value in ids.items() if value is not None}


@torch.no_grad()
def initialise(model: torch.nn.Module, storage_dtype: torch.dtype) -> None:
    """Random weights at O(1) activation scale, already rounded to the storage dtype."""
    for name, param in model.named_parameters():
        if name.endswith("norm.weight"):
            values = 1.0 + NORM_WEIGHT_STD * torch.randn_like(param)
        elif name.endswith(".bias"):
            values = BIAS_STD * torch.randn_like(param)
        elif name == "model.embed_tokens.weight":
            values = EMBEDDING_STD * torch.randn_like(param)
        elif name == "lm_head.weight":
            values = LM_HEAD_GAIN * torch.randn_like(param) / param.shape[1] ** 0.5
        else:  # a projection [out, in]: unit-scale inputs give unit-scale outputs
            values = torch.randn_like(param) / param.shape[1] ** 0.5
        param.copy_(values.to(storage_dtype).to(param.dtype))
    if model.config.tie_word_embeddings:
        # Tied: the embedding is the output matrix too, so give it the lm_head's scale of logits.
        embedding = model.get_input_embeddings().weight
        embedding.copy_((embedding * LM_HEAD_GAIN / embedding.shape[1] ** 0.5).to(storage_dtype).to(embedding.dtype))


def write_model_folder(spec: dict, out_dir: Path) -> None:
    tokenizer = write_model_tokenizer_files(spec["tokenizer"], 512, out_dir)
    assert tokenizer.get_vocab_size() <= spec["config"]["vocab_size"]
    token_ids = special_token_ids(out_dir)
    config_json = {**spec["config"], **token_ids}
    write_json(out_dir / "config.json", config_json)

    torch.manual_seed(spec["seed"])
    config = AutoConfig.from_pretrained(out_dir)
    model = getattr(transformers, spec["model_class"])(config).to(torch.float32)
    initialise(model, spec["storage_dtype"])
    save_kwargs = {"max_shard_size": spec["max_shard_size"]} if spec["max_shard_size"] else {}
    model.to(spec["storage_dtype"]).save_pretrained(out_dir, **save_kwargs)
    if not spec.get("keep_transformers_config"):
        write_json(out_dir / "config.json", config_json)  # save_pretrained rewrote it in its own style
    write_json(out_dir / "generation_config.json", token_ids)


def check_files(out_dir: Path, spec: dict) -> list:
    """The safetensors hold what the engine will expect: storage dtype, no lm_head when tied, shards."""
    from safetensors import safe_open

    files = sorted(out_dir.glob("*.safetensors"))
    if spec["max_shard_size"]:
        assert len(files) >= 2 and (out_dir / "model.safetensors.index.json").exists(), "expected shards"
    names = []
    for path in files:
        with safe_open(str(path), "pt") as handle:
            for key in handle.keys():
                assert handle.get_slice(key).get_dtype() == {torch.float32: "F32", torch.float16: "F16",
                                                             torch.bfloat16: "BF16"}[spec["storage_dtype"]], key
                names.append(key)
    tied = spec["config"]["tie_word_embeddings"]
    assert ("lm_head.weight" in names) != tied, "lm_head.weight must be stored exactly when untied"
    return names


@torch.no_grad()
def compute_golden(out_dir: Path, spec: dict) -> dict:
    model = AutoModelForCausalLM.from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    generator = torch.Generator().manual_seed(spec["seed"])
    # Random ids from the tokenizer's range (the embedding may be padded past it), no forced BOS.
    prompt_ids = torch.randint(0, len(tokenizer), (1, spec["prompt_tokens"]), generator=generator)

    logits = model(prompt_ids).logits[0]
    positions = list(range(spec["prompt_tokens"] - GOLDEN_POSITIONS, spec["prompt_tokens"]))

    # No eos/pad: generation can neither stop early nor have a token suppressed (min_new_tokens would
    # mask EOS and break "greedy == argmax").
    greedy_config = GenerationConfig(do_sample=False, max_new_tokens=GREEDY_TOKENS, eos_token_id=None,
                                     pad_token_id=None, bos_token_id=None)
    greedy = model.generate(prompt_ids, generation_config=greedy_config)[0, spec["prompt_tokens"]:]
    assert len(greedy) == GREEDY_TOKENS
    check_greedy_without_cache(model, prompt_ids[0], greedy)

    return {
        "prompt_ids": prompt_ids[0].tolist(),
        "positions": positions,
        "logits": [[float(f"{value:.7g}") for value in logits[p].tolist()] for p in positions],
        "greedy_ids": greedy.tolist(),
        "prompt_text": PROMPT_TEXT,
        # transformers' default encode: add_special_tokens=True, so BOS where the tokenizer adds one.
        "prompt_text_ids": tokenizer(PROMPT_TEXT)["input_ids"],
        "transformers_version": transformers.__version__,
    }


@torch.no_grad()
def check_greedy_without_cache(model, prompt_ids: torch.Tensor, greedy: torch.Tensor) -> None:
    """Recomputes each greedy step from scratch: the cached generation (with its sliding-window cache)
    must agree with plain argmax over full forwards, or the golden would not be what the engine computes.
    Also reports how close the closest call was, since a tiny margin could flip under fp32 reordering."""
    sequence = prompt_ids.tolist()
    smallest_margin = float("inf")
    for expected in greedy.tolist():
        last = model(torch.tensor([sequence])).logits[0, -1]
        top2 = torch.topk(last, 2).values
        smallest_margin = min(smallest_margin, float(top2[0] - top2[1]))
        assert int(last.argmax()) == expected, "cached greedy generation disagrees with full recomputation"
        sequence.append(expected)
    assert smallest_margin > 1e-3, f"greedy top-1/top-2 margin {smallest_margin:.2e} is too small to test"
    print(f"    greedy matches full recomputation; smallest top-1/top-2 logit margin {smallest_margin:.4f}")


def build(name: str) -> None:
    spec = MODELS[name]
    out_dir = MODELS_DIR / name
    if out_dir.exists():
        shutil.rmtree(out_dir)
    print(f"{name}: {spec['model_class']}, stored {str(spec['storage_dtype']).removeprefix('torch.')}")
    write_model_folder(spec, out_dir)
    tensor_names = check_files(out_dir, spec)
    golden = compute_golden(out_dir, spec)
    write_json(out_dir / "golden.json", golden)
    logits = torch.tensor(golden["logits"])
    size_kb = sum(path.stat().st_size for path in out_dir.iterdir()) / 1024
    print(f"    {len(tensor_names)} tensors, logits std {logits.std():.2f}, folder {size_kb:.0f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"models to build (default: all of {', '.join(MODELS)})")
    args = parser.parse_args()
    unknown = set(args.names) - set(MODELS)
    if unknown:
        parser.error(f"unknown model(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODELS)}")
    for name in args.names or MODELS:
        build(name)


if __name__ == "__main__":
    main()
