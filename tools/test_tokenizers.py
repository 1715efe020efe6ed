#!/usr/bin/env python3
"""Tiny tokenizers of every flavour attn-infer supports, trained with the real HF `tokenizers` library.

Each flavour is configured like the model family it is named after (pre-tokenizer, normalizer, decoder,
post-processor, special tokens), only with a vocabulary of a few hundred entries learned from a small
built-in corpus, so that test models and golden files stay small while exercising the same code paths.

Library use (stable API, imported by the tiny-model builder):
    build_tokenizer(flavour, vocab_size) -> tokenizers.Tokenizer
    write_model_tokenizer_files(flavour, vocab_size, out_dir)   # tokenizer.json + tokenizer_config.json
CLI:
    python3 tools/test_tokenizers.py FLAVOUR OUT_DIR [--vocab-size N]

The vocabulary has at most vocab_size entries (fewer when the corpus runs out of merges); size a model's
embedding with tokenizer.get_vocab_size() or pad it, as real checkpoints do.
"""
import argparse
import json
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from tokenizers import processors, trainers

FLAVOURS = ("byte_level_llama3", "byte_level_qwen2", "byte_level_gpt2", "spm_llama2", "spm_metaspace")

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# Enough of each script that merges form inside words, numbers, indentation and CJK/emoji byte sequences.
TRAINING_CORPUS = [
    "The quick brown fox jumps over the lazy dog. It's a sunny day, isn't it? I'm sure we'll see.",
    "Once upon a time, there was a little girl who lived in a village near the forest.",
    "She said: \"Don't worry, they're here and you've done well.\" THE END. DON'T PANIC!",
    "Machine learning models turn text into tokens, and tokens into numbers that a network can read.",
    "In 1969, 12 astronauts walked on the Moon; the last mission returned on December 19, 1972.",
    "Prices: $3.50, 42%, 3.14159, 2024-05-17, 10:30am, +1 (555) 123-4567, 1,000,000 users.",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "for (int i = 0; i < count; ++i) {\n\tsum += values[i] * weights[i];\n}\n",
    "#include <vector>\nint main() {\n    std::vector<int> xs = {1, 2, 3};\n    return xs.size();\n}\n",
    "import numpy as np\nx = np.zeros((4, 4), dtype=np.float32)\nprint(x.shape)  # (4, 4)\n",
    "SELECT name, age FROM users WHERE age >= 18 ORDER BY name;",
    "{\"key\": \"value\", \"list\": [1, 2, 3], \"nested\": {\"a\": true, \"b\": null}}",
    "你好，世界！今天天气很好。我们一起去公园散步吧。机器学习很有趣。",
    "日本語のテキストも少し含めます。東京は大きな都市です。ありがとうございます。",
    "한국어 문장도 있습니다. 감사합니다.",
    "Привет, мир! Как дела? Всё хорошо, спасибо.",
    "Emoji: 😀 😂 👍 🎉 ❤️ 🚀 👨‍👩‍👧‍👦 🏳️‍🌈 and more 😀😀😀.",
    "Ünïcödé àccents: café, naïve, résumé, façade, jalapeño, Zürich, São Paulo.",
    "Lines\n\nwith   multiple    spaces\tand\ttabs\n\n\nand trailing spaces   \n",
    "<html><body><p class=\"note\">Hello &amp; welcome!</p></body></html>",
    "user@example.com https://example.org/path?query=1&x=2 #hashtag @mention",
    "Mathematics: α + β = γ, ∑ x² ≤ ∞, √2 ≈ 1.41421356, π r².",
]
TRAINING_REPEATS = 20


def _byte_level_post_processor(bos: str = "", bos_id: int = 0):
    byte_level = processors.ByteLevel(trim_offsets=False)
    if not bos:
        return byte_level
    template = processors.TemplateProcessing(single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
                                             special_tokens=[(bos, bos_id)])
    return processors.Sequence([byte_level, template])


def _train_byte_level(vocab_size: int, pre_tokenizer, normalizer, special_tokens: list, ignore_merges: bool):
    """Byte-level BPE: all 256 byte symbols, learned merges, then the special tokens appended (Llama 3, Qwen2)."""
    learned_size = vocab_size - len(special_tokens)
    if learned_size < 256:
        raise ValueError(f"byte-level vocab_size must be at least {256 + len(special_tokens)}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=learned_size, show_progress=False, max_token_length=16,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(TRAINING_CORPUS * TRAINING_REPEATS, trainer)
    vocab, merges = _vocab_and_merges(tokenizer)
    final = Tokenizer(models.BPE(vocab, merges, ignore_merges=ignore_merges))
    final.normalizer = normalizer
    final.pre_tokenizer = pre_tokenizer
    final.decoder = decoders.ByteLevel()
    final.add_special_tokens(special_tokens)
    return final


def _vocab_and_merges(tokenizer: Tokenizer):
    model = json.loads(tokenizer.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return model["vocab"], merges


def _train_sentencepiece_style(vocab_size: int, added_specials: list):
    """SentencePiece-converted layout: <unk> <s> </s>, then <0x00>..<0xFF>, then learned pieces."""
    head = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    learned_size = vocab_size - len(head) - len(added_specials)
    if learned_size < 32:
        raise ValueError(f"sentencepiece-style vocab_size must be at least {len(head) + len(added_specials) + 32}")
    tokenizer = Tokenizer(models.BPE())
    # Training splits at "▁" so that, as in SentencePiece, no piece spans two words.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    # A small alphabet leaves rare characters (most CJK, emoji) to the <0xNN> byte fallback.
    trainer = trainers.BpeTrainer(vocab_size=learned_size, show_progress=False, max_token_length=16,
                                  limit_alphabet=min(96, learned_size))
    tokenizer.train_from_iterator(TRAINING_CORPUS * TRAINING_REPEATS, trainer)
    learned, merges = _vocab_and_merges(tokenizer)
    vocab = {token: i for i, token in enumerate(head)}
    for token, _ in sorted(learned.items(), key=lambda item: item[1]):
        vocab.setdefault(token, len(vocab))
    model = models.BPE(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True)
    final = Tokenizer(model)
    final.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in ("<unk>", "<s>", "</s>")])
    final.add_special_tokens(added_specials)
    return final


def _spm_template(bos_id: int):
    return processors.TemplateProcessing(single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1",
                                         special_tokens=[("<s>", bos_id)])


def _special(content: str) -> AddedToken:
    return AddedToken(content, normalized=False, special=True)


def build_tokenizer(flavour: str, vocab_size: int) -> Tokenizer:
    """A trained tokenizer of the given flavour (one of FLAVOURS) with at most vocab_size entries."""
    if flavour == "byte_level_llama3":
        pre = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
        specials = [_special(t) for t in ("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                                          "<|end_header_id|>", "<|eot_id|>")]
        tok = _train_byte_level(vocab_size, pre, None, specials, ignore_merges=True)
        tok.post_processor = _byte_level_post_processor("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))
        return tok
    if flavour == "byte_level_qwen2":
        pre = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
        specials = [_special(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")]
        # Qwen2.5 marks its tool-call tags as added but not special: they survive skip_special_tokens.
        specials += [AddedToken(t, normalized=False, special=False) for t in ("<tool_call>", "</tool_call>")]
        tok = _train_byte_level(vocab_size, pre, normalizers.NFC(), specials, ignore_merges=False)
        tok.post_processor = _byte_level_post_processor()
        return tok
    if flavour == "byte_level_gpt2":
        pre = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
        specials = [_special(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")]
        # Not in any real model: covers the single_word and rstrip options of added tokens.
        specials += [AddedToken("<|fim|>", single_word=True, rstrip=True, normalized=False, special=True)]
        tok = _train_byte_level(vocab_size, pre, None, specials, ignore_merges=False)
        tok.post_processor = _byte_level_post_processor()
        return tok
    if flavour == "spm_llama2":
        tok = _train_sentencepiece_style(vocab_size, [])
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(" ", 1, 0)])
        tok.post_processor = _spm_template(tok.token_to_id("<s>"))
        return tok
    if flavour == "spm_metaspace":
        # Mistral's control tokens, plus an lstrip token (as RoBERTa's <mask>) to cover that option.
        added = [_special("[INST]"), _special("[/INST]"),
                 AddedToken("<mask>", lstrip=True, normalized=False, special=True)]
        tok = _train_sentencepiece_style(vocab_size, added)
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
        tok.decoder = decoders.Sequence([decoders.ByteFallback(),
                                         decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False)])
        tok.post_processor = _spm_template(tok.token_to_id("<s>"))
        return tok
    raise ValueError(f"unknown tokenizer flavour {flavour!r}; expected one of {', '.join(FLAVOURS)}")


_LLAMA3_CHAT = ("{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}"
                "<|end_header_id|>\n\n{{ message['content'] | trim }}<|eot_id|>{% endfor %}"
                "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}")
_CHATML = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
           "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
_ZEPHYR_CHAT = ("{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
                "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
_MISTRAL_CHAT = ("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                 "[INST] {{ message['content'] }} [/INST]{% else %}{{ message['content'] }}{{ eos_token }}"
                 "{% endif %}{% endfor %}")


def tokenizer_config(flavour: str) -> dict:
    """tokenizer_config.json as the model family ships it (BOS/EOS names, add_bos_token, chat template)."""
    base = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 2048, "clean_up_tokenization_spaces": False}
    if flavour == "byte_level_llama3":
        return {**base, "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "chat_template": _LLAMA3_CHAT}
    if flavour == "byte_level_qwen2":
        return {**base, "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                "chat_template": _CHATML}
    if flavour == "byte_level_gpt2":
        return {**base, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "unk_token": "<|endoftext|>",
                "pad_token": "<|im_end|>", "chat_template": _CHATML}
    if flavour == "spm_llama2":
        token = {"__type": "AddedToken", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
        return {**base, "tokenizer_class": "LlamaTokenizer", "legacy": True, "add_bos_token": True,
                "add_eos_token": False, "bos_token": {**token, "content": "<s>"},
                "eos_token": {**token, "content": "</s>"}, "unk_token": {**token, "content": "<unk>"},
                "chat_template": _ZEPHYR_CHAT}
    if flavour == "spm_metaspace":
        return {**base, "tokenizer_class": "LlamaTokenizer", "legacy": False, "add_bos_token": True,
                "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                "chat_template": _MISTRAL_CHAT}
    raise ValueError(f"unknown tokenizer flavour {flavour!r}; expected one of {', '.join(FLAVOURS)}")


def write_model_tokenizer_files(flavour: str, vocab_size: int, out_dir) -> Tokenizer:
    """Writes out_dir/tokenizer.json and out_dir/tokenizer_config.json; returns the tokenizer."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(flavour, vocab_size)
    tokenizer.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(flavour), indent=2, ensure_ascii=False) + "\n",
                                               encoding="utf-8")
    return tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flavour", choices=FLAVOURS)
    parser.add_argument("out_dir")
    parser.add_argument("--vocab-size", type=int, default=512)
    args = parser.parse_args()
    tokenizer = write_model_tokenizer_files(args.flavour, args.vocab_size, args.out_dir)
    print(f"{args.flavour}: {tokenizer.get_vocab_size()} tokens written to {args.out_dir}")


if __name__ == "__main__":
    main()
