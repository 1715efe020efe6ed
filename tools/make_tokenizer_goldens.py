#!/usr/bin/env python3
"""Golden encodings from the real HF `tokenizers` library for tests/test_tokenizer.cpp.

For every flavour of tools/test_tokenizers.py, and for SmolLM2's real tokenizer when
.cache/models/SmolLM2-135M-Instruct has been fetched, writes tests/data/tokenizers/<name>/:
  tokenizer.json, tokenizer_config.json, generation_config.json (when the family has one),
  golden.json  list of {text, ids, ids_no_special, decoded, decoded_skip_special}, where ids come from
               encode(text, add_special_tokens=True), ids_no_special from add_special_tokens=False,
               decoded = decode(ids, skip_special_tokens=False), decoded_skip_special = decode(ids, True);
  meta.json    {vocab_size, bos_id, eos_ids} as transformers reports them.

    python3 tools/make_tokenizer_goldens.py [--out tests/data/tokenizers]
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_tokenizers import FLAVOURS, write_model_tokenizer_files  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SMOLLM2_DIR = REPO_ROOT / ".cache" / "models" / "SmolLM2-135M-Instruct"
GOLDEN_VOCAB_SIZE = 800

# generation_config.json eos_token_id of each family; a list where the family's is.
EOS_TOKENS = {
    "byte_level_llama3": ["<|end_of_text|>", "<|eot_id|>"],
    "byte_level_qwen2": ["<|im_end|>", "<|endoftext|>"],
    "spm_llama2": ["</s>"],
}

# Each line probes a rule of the pipeline: added-token splitting, normalizers, regex corner cases,
# byte fallback, merges across scripts, and the decoders' handling of spaces.
TEXTS = [
    "",
    " ",
    "   ",
    "\n",
    "Hello world",
    "hello",
    " Hello world",
    "Hello world ",
    "  two leading and two trailing  ",
    "Hello  world   with    runs     of      spaces",
    "\tTab\tseparated\tvalues\t\n",
    "line1\nline2\n\nline3\r\nline4\r\n\r\n\n\n",
    "    indented code\n        more indented\n\t\ttabs\n",
    "def f(x):\n    return x * 2  # double\n\n\nclass A:\n\tpass\n",
    "if (a && b) { return c->d[i] >= 0 ? -1 : +1; }   \n}",
    "I'm sure they're happy. DON'T! You've, we'll, he'd, it's. 'S 'T 'RE 'Ve 'LL 'D",
    "'ſ 'ſſ ſ",
    "1234567890 3.14159 1,000,000 2024-05-17 0x1F 007 12345678901234",
    "abc123def4567 x1 2y",
    "١٢٣ ٤٥٦ ½ ² ① ⅷ",
    "你好，世界！机器学习很有趣。",
    "日本語のテキスト。東京は大きな都市です。",
    "한국어 문장도 있습니다.",
    "Привет, мир! Ελληνικά κείμενα. مرحبا بالعالم. שלום עולם. สวัสดี. नमस्ते दुनिया।",
    "😀👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️‍🔥 🇯🇵🇫🇷 😀😀😀",
    "emoji😀inside👍🏽words",
    "café naïve résumé Zürich São Paulo",
    "cafe\u0301 A\u030a \u212b \u1112\u1161\u11ab e\u0301\u0323",
    "nbsp\u00a0here, nel\u0085there, ls\u2028ps\u2029 ideographic\u3000space thin\u2009space",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "control \x00 \x01 \x1b[31m red \x7f",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ᚠᛇᚻ ꙮ 𓀀 \U0010ffff",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "!!!!!!!!?????...... ====== ------ ______",
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX.",
    "https://example.org/path?query=1&x=2 user@example.com #tag @who",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": true}}",
    "<|begin_of_text|>Hello<|eot_id|>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
    "text <|begin_of_text|> between <|end_of_text|>",
    "<|begin_of_text",
    "<s>Hello</s>",
    "<s> Hello </s> <s>",
    " <s>",
    "a<s>b",
    "<unk> <0x41> <0xZZ>",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|><|endoftext|>",
    "[INST] What is 2+2? [/INST]",
    "[INST]x[/INST]y",
    "a<mask>b",
    "a   <mask>  b",
    "\t<mask>",
    "x <|fim|> y",
    "x<|fim|>y",
    "<|fim|>",
    "<|fim|>   ",
    " <|fim|>\n",
    "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<tool_call> spaced </tool_call>",
    "▁ already ▁▁ meta ▁",
    "Ġ Ċ ĉ byte-level lookalikes",
    "Once upon a time, there was a little girl who lived in a village near the forest. Whenever she went "
    "out, the little girl wore a red riding cloak, so everyone in the village called her Little Red "
    "Riding Hood. 12 apples, 3.5 pears; 你好 😀!\n\n    def main():\n\treturn 0\n",
]


def golden_cases(tokenizer: Tokenizer) -> list:
    cases = []
    for text in TEXTS:
        ids = tokenizer.encode(text, add_special_tokens=True).ids
        cases.append({
            "text": text,
            "ids": ids,
            "ids_no_special": tokenizer.encode(text, add_special_tokens=False).ids,
            "decoded": tokenizer.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tokenizer.decode(ids, skip_special_tokens=True),
        })
    return cases


def write_generation_config(flavour: str, tokenizer: Tokenizer, out: Path) -> None:
    if flavour not in EOS_TOKENS:
        return
    eos = [tokenizer.token_to_id(t) for t in EOS_TOKENS[flavour]]
    config = {"eos_token_id": eos if len(eos) > 1 else eos[0]}
    (out / "generation_config.json").write_text(json.dumps(config, indent=2) + "\n")


def write_meta(out: Path) -> None:
    """What transformers makes of the folder: the values Tokenizer::bos_id/eos_ids must report."""
    from transformers import AutoTokenizer, GenerationConfig
    hf = AutoTokenizer.from_pretrained(str(out))
    eos_ids = set()
    if hf.eos_token_id is not None:
        eos_ids.add(hf.eos_token_id)
    if (out / "generation_config.json").exists():
        generation_eos = GenerationConfig.from_pretrained(str(out)).eos_token_id
        eos_ids.update(generation_eos if isinstance(generation_eos, list) else [generation_eos])
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    special_ids = sorted(i for i, t in tokenizer.get_added_tokens_decoder().items() if t.special)
    meta = {"vocab_size": tokenizer.get_vocab_size(with_added_tokens=True), "bos_id": hf.bos_token_id,
            "eos_ids": sorted(eos_ids), "special_ids": special_ids}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def write_goldens(tokenizer: Tokenizer, out: Path) -> None:
    (out / "golden.json").write_text(json.dumps(golden_cases(tokenizer), indent=1, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    write_meta(out)
    print(f"{out}: {len(TEXTS)} goldens, vocab {tokenizer.get_vocab_size()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO_ROOT / "tests" / "data" / "tokenizers"))
    args = parser.parse_args()
    root = Path(args.out)
    for flavour in FLAVOURS:
        out = root / flavour
        tokenizer = write_model_tokenizer_files(flavour, GOLDEN_VOCAB_SIZE, out)
        write_generation_config(flavour, tokenizer, out)
        write_goldens(tokenizer, out)
    if (SMOLLM2_DIR / "tokenizer.json").exists():
        out = root / "smollm2"
        out.mkdir(parents=True, exist_ok=True)
        for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
            if (SMOLLM2_DIR / name).exists():
                shutil.copy(SMOLLM2_DIR / name, out / name)
        write_goldens(Tokenizer.from_file(str(out / "tokenizer.json")), out)
    else:
        print(f"{SMOLLM2_DIR} has no tokenizer.json yet: run tools/fetch_demo_model.py for the smollm2 goldens")


if __name__ == "__main__":
    main()
