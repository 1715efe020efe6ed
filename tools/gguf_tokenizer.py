"""GGUF "gpt2" tokenizer metadata -> Hugging Face tokenizer.json / tokenizer_config.json.

A GGUF stores the byte-level BPE vocabulary (tokens already in GPT-2's byte-to-unicode alphabet),
the merges as "left right" strings, a type per token, and a pre-tokenizer name. The pre-tokenizer
name selects llama.cpp's regex list (llama-vocab.cpp); we rebuild the same splitting with HF
tokenizers' components so that the two agree.
"""

from gguf import GGUFReader

# gguf.TokenType values (gguf/constants.py).
TOKEN_TYPE_CONTROL = 3
TOKEN_TYPE_USER_DEFINED = 4

GPT2_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}

# llama.cpp pre-tokenizer name -> HF pre_tokenizer. "smollm" (like "starcoder") runs the regex
# "\p{N}" before GPT-2's regex, i.e. every digit is its own piece, which is HF's
# Digits(individual_digits=True); without it "a  1" would merge differently ("Ġ" + "Ġ1" pieces).
PRE_TOKENIZERS = {
    "default": GPT2_BYTE_LEVEL,
    "gpt-2": GPT2_BYTE_LEVEL,
    "smollm": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True}, GPT2_BYTE_LEVEL]},
}


def field(reader: GGUFReader, key: str, default=None):
    entry = reader.fields.get(key)
    return default if entry is None else entry.contents()


def build_tokenizer_json(reader: GGUFReader) -> dict:
    model = field(reader, "tokenizer.ggml.model")
    pre = field(reader, "tokenizer.ggml.pre", "default")
    if model != "gpt2":
        raise ValueError(f"GGUF tokenizer model '{model}' is not supported; only byte-level BPE ('gpt2') is")
    if pre not in PRE_TOKENIZERS:
        raise ValueError(f"GGUF pre-tokenizer '{pre}' is not supported; known: {sorted(PRE_TOKENIZERS)}")

    tokens = field(reader, "tokenizer.ggml.tokens")
    token_types = field(reader, "tokenizer.ggml.token_type")
    added_tokens = [
        {"id": token_id, "content": tokens[token_id], "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": False, "special": token_type == TOKEN_TYPE_CONTROL}
        for token_id, token_type in enumerate(token_types)
        if token_type in (TOKEN_TYPE_CONTROL, TOKEN_TYPE_USER_DEFINED)
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added_tokens,
        "normalizer": None,
        "pre_tokenizer": PRE_TOKENIZERS[pre],
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": {token: token_id for token_id, token in enumerate(tokens)},
            "merges": list(field(reader, "tokenizer.ggml.merges")),
        },
    }


def special_token_ids(reader: GGUFReader) -> dict:
    """{"bos": id, "eos": id, ...} for whichever of them the GGUF names."""
    ids = {}
    for role in ("bos", "eos", "unknown", "padding"):
        token_id = field(reader, f"tokenizer.ggml.{role}_token_id")
        if token_id is not None:
            ids[role] = int(token_id)
    return ids


def build_tokenizer_config(reader: GGUFReader) -> dict:
    tokens = field(reader, "tokenizer.ggml.tokens")
    ids = special_token_ids(reader)
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": bool(field(reader, "tokenizer.ggml.add_bos_token", False)),
        "add_eos_token": bool(field(reader, "tokenizer.ggml.add_eos_token", False)),
        "clean_up_tokenization_spaces": False,
        "model_max_length": int(field(reader, f"{field(reader, 'general.architecture')}.context_length")),
    }
    for role, key in (("bos", "bos_token"), ("eos", "eos_token"), ("unknown", "unk_token"), ("padding", "pad_token")):
        if role in ids:
            config[key] = tokens[ids[role]]
    chat_template = field(reader, "tokenizer.chat_template")
    if chat_template is not None:
        config["chat_template"] = chat_template
    return config
