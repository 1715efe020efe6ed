"""GGUF llama-architecture tensors -> Hugging Face LlamaForCausalLM state dict.

Two things separate a GGUF tensor from its HF original: the quantized storage (undone with
gguf.quants.dequantize, which is bit-exact with ggml's own dequantizer) and llama.cpp's Q/K row
permutation (convert_hf_to_gguf.py reorders each head's rows from HF's "rotate_half" layout,
[x0..x(d/2-1) | x(d/2)..x(d-1)], to ggml's interleaved pairs; we put them back).
"""

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

# GGUF tensor name (after "blk.N.") -> HF parameter name (after "model.layers.N.").
LAYER_TENSOR_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
GLOBAL_TENSOR_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}


def undo_llama_cpp_qk_permutation(rows: np.ndarray, head_count: int) -> np.ndarray:
    """Inverse of convert_hf_to_gguf.LlamaModel.permute: within each head, ggml stores row pairs
    (i, i + d/2) next to each other; HF keeps the two halves apart."""
    half_head_dim = rows.shape[0] // head_count // 2
    return (rows.reshape(head_count, half_head_dim, 2, *rows.shape[1:])
            .swapaxes(1, 2)
            .reshape(rows.shape))


def hf_name_for(gguf_name: str) -> str:
    if gguf_name in GLOBAL_TENSOR_NAMES:
        return GLOBAL_TENSOR_NAMES[gguf_name]
    block, index, rest = gguf_name.split(".", 2)
    if block != "blk" or rest not in LAYER_TENSOR_NAMES:
        raise ValueError(f"GGUF tensor '{gguf_name}' has no Llama counterpart; only llama GGUFs are supported")
    return f"model.layers.{index}.{LAYER_TENSOR_NAMES[rest]}"


def read_llama_state_dict(reader: GGUFReader, head_count: int, kv_head_count: int) -> dict:
    """All tensors as float32 numpy arrays in HF layout ([out_features, in_features])."""
    state = {}
    for tensor in reader.tensors:
        # The reader's arrays are already row-major [rows, cols]: ggml's ne[] listed backwards.
        values = dequantize(tensor.data, tensor.tensor_type).astype(np.float32, copy=False)
        name = hf_name_for(tensor.name)
        if name.endswith("q_proj.weight"):
            values = undo_llama_cpp_qk_permutation(values, head_count)
        elif name.endswith("k_proj.weight"):
            values = undo_llama_cpp_qk_permutation(values, kv_head_count)
        state[name] = np.ascontiguousarray(values)
    return state
