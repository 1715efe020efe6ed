"""GGUF llama metadata -> Hugging Face config.json and generation_config.json.

Written in the key style of checkpoints on the Hub (rope_theta at top level, "torch_dtype"),
which is what most real model folders carry and what transformers 5 still reads.
"""

import numpy as np
from gguf import GGUFReader

from gguf_tokenizer import field, special_token_ids


def as_float32_decimal(value: float) -> float:
    """GGUF stores floats as float32: 1e-5 comes back as 9.99999974e-06. The shortest decimal that
    rounds to the same float32 is what the original config said."""
    return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))


def build_config(reader: GGUFReader, torch_dtype: str, has_output_tensor: bool) -> dict:
    arch = field(reader, "general.architecture")
    if arch != "llama":
        raise ValueError(f"GGUF architecture '{arch}' is not supported; only 'llama' is")

    def meta(key, default=None):
        return field(reader, f"llama.{key}", default)

    hidden_size = int(meta("embedding_length"))
    head_count = int(meta("attention.head_count"))
    head_dim = int(meta("rope.dimension_count", hidden_size // head_count))
    if head_dim != hidden_size // head_count:
        raise ValueError("partial rotary embeddings (rope.dimension_count != head size) are not supported")
    if meta("rope.scaling.type") not in (None, "none"):
        raise ValueError(f"rope scaling '{meta('rope.scaling.type')}' is not supported by this converter")
    ids = special_token_ids(reader)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden_size,
        "intermediate_size": int(meta("feed_forward_length")),
        "num_hidden_layers": int(meta("block_count")),
        "num_attention_heads": head_count,
        "num_key_value_heads": int(meta("attention.head_count_kv", head_count)),
        "head_dim": head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": int(meta("context_length")),
        "rms_norm_eps": as_float32_decimal(meta("attention.layer_norm_rms_epsilon")),
        "rope_theta": as_float32_decimal(meta("rope.freq_base", 10000.0)),
        "rope_scaling": None,
        "attention_bias": False,
        "mlp_bias": False,
        # llama.cpp writes no output.weight when the checkpoint reused the embedding matrix.
        "tie_word_embeddings": not has_output_tensor,
        "vocab_size": int(meta("vocab_size", len(field(reader, "tokenizer.ggml.tokens")))),
        "torch_dtype": torch_dtype,
        "use_cache": True,
    }
    for role, key in (("bos", "bos_token_id"), ("eos", "eos_token_id"), ("padding", "pad_token_id")):
        if role in ids:
            config[key] = ids[role]
    return config


def build_generation_config(reader: GGUFReader) -> dict:
    ids = special_token_ids(reader)
    return {key: ids[role] for role, key in
            (("bos", "bos_token_id"), ("eos", "eos_token_id"), ("padding", "pad_token_id")) if role in ids}
