"""A LoRA adapter from `genpage train-writer` (peft's safetensors) in llama.cpp's GGUF adapter format.

llama.cpp applies a LoRA adapter at run time on top of the quantized base (`llama_adapter_lora_init`), so a tuned
writer runs on the same GGUF file and in the same memory as the untuned one. The conversion follows llama.cpp's
own `convert_lora_to_gguf.py`: `general.type = "adapter"`, `adapter.type = "lora"`, `adapter.lora.alpha` (llama.cpp
scales each product by alpha / rank, as peft does), and per adapted weight two tensors named after the base
tensor's GGUF name, `<name>.lora_a` (rank x in, peft's `lora_A`) and `<name>.lora_b` (out x rank, `lora_B`).

The file is written once, under `<home>/cache/lora-gguf/`, keyed by the adapter's weights (sha256) and settings,
the base file and the converter's version: a packaged adapter in a read-only install converts too, and a retrained
adapter never reads a stale file. Checked against transformers by hand (not a test: it needs the fp32 model): on
smollm2-135m (a llama model, query and key rows reordered) with a random adapter on the query and key projections,
llama.cpp's change of the next-token logits correlates 0.992 with the merged model's in fp32 (the base models'
logits: 0.9995). `tests/test_train_writer.py` checks the reordering against the base GGUF's own query weights.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from genpage.errors import ConfigError

# architectures whose query and key rows llama.cpp's convert_hf_to_gguf.py reorders (LlamaModel.permute); others
# (qwen2 among them) keep the Hugging Face order
PERMUTED = frozenset({"llama"})
CONVERTER_VERSION = 2  # part of the file's key: a fixed converter writes every adapter again
PROJECTIONS = frozenset({"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"})
_PEFT_NAME = re.compile(r"^(?:base_model\.model\.)?(?P<base>.+)\.lora_(?P<part>[AB])(?:\.[^.]+)?\.weight$")


def unsupported(adapter: Path) -> str | None:
    """Why this converter cannot give llama.cpp the adapter in folder `adapter` (None: it can). `backend = "auto"`
    runs such an adapter on transformers instead, which merges any peft LoRA."""
    if not (adapter / "adapter_model.safetensors").is_file():
        return "it has no adapter_model.safetensors"
    config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    if config.get("peft_type", "LORA") != "LORA":
        return f"it is a {config.get('peft_type')} adapter, not LoRA"
    if any(config.get(key) for key in ("use_rslora", "use_dora", "rank_pattern", "alpha_pattern", "modules_to_save")):
        return "it is not a plain LoRA (one rank and alpha, no rsLoRA, DoRA or modules saved whole)"
    targets = config.get("target_modules") or []
    if isinstance(targets, str) or not set(targets) <= PROJECTIONS:
        return f"it adapts modules other than the attention and MLP projections ({targets})"
    return None


def adapter_gguf(adapter: Path, base_gguf: Path, cache: Path) -> Path:
    """The GGUF file of the peft adapter in folder `adapter` for the base model `base_gguf`, written on first use
    (named by the adapter's weights and settings, the base file and the converter's version)."""
    problem = unsupported(adapter)
    if problem is not None:
        raise ConfigError(f"{adapter}: llama.cpp cannot run this adapter: {problem}; use backend 'local'")
    config = (adapter / "adapter_config.json").read_text(encoding="utf-8")
    key = json.dumps([adapter_digest(adapter), json.loads(config), base_gguf.name, base_gguf.stat().st_size,
                      CONVERTER_VERSION], sort_keys=True)  # fmt: skip
    out = cache / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.gguf"
    if out.is_file():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache, suffix=".part", delete=False) as handle:
        part = Path(handle.name)
    try:
        _write(adapter / "adapter_model.safetensors", float(json.loads(config)["lora_alpha"]), base_gguf, part)
        part.replace(out)  # whole or absent
    finally:
        part.unlink(missing_ok=True)
    return out


def adapter_digest(adapter: Path) -> str:
    """The sha256 of an adapter's weights (its safetensors files, in name order): its identity in caches."""
    files = sorted(adapter.glob("*.safetensors"))
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def _write(weights: Path, alpha: float, base_gguf: Path, out: Path) -> None:
    import gguf
    from safetensors.torch import load_file

    arch, blocks, heads = _architecture(base_gguf)
    names = gguf.get_tensor_name_map(arch, blocks)
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for key, tensor in load_file(str(weights)).items():
        value = tensor.float().numpy()  # bf16 and fp16 weights too
        match = _PEFT_NAME.match(key)
        if match is None:
            raise ConfigError(f"{weights}: tensor {key!r} is not a LoRA weight llama.cpp can apply")
        base = names.get_name(match["base"], try_suffixes=(".weight",))
        if base is None:
            arch_name = gguf.MODEL_ARCH_NAMES[arch]
            raise ConfigError(f"{weights}: no GGUF tensor for {match['base']!r} in a {arch_name} model")
        if match["part"] == "B" and heads is not None and base.endswith(("attn_q", "attn_k")):
            value = _permute(value, heads[0] if base.endswith("attn_q") else heads[1])
        pairs.setdefault(base + ".weight", {})[match["part"]] = value.astype(np.float32)
    writer = gguf.GGUFWriter(str(out), gguf.MODEL_ARCH_NAMES[arch])
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    for name, pair in sorted(pairs.items()):
        if set(pair) != {"A", "B"}:
            raise ConfigError(f"{weights}: {name} has lora_{'A' if 'A' in pair else 'B'} without its pair")
        writer.add_tensor(f"{name}.lora_a", pair["A"])
        writer.add_tensor(f"{name}.lora_b", pair["B"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _permute(rows: np.ndarray, heads: int) -> np.ndarray:
    """The rows of a query or key projection in the order llama.cpp's converter stores a llama model's (it
    interleaves each head's two rotary halves): the same reordering for lora_B, whose rows are the outputs."""
    return rows.reshape(heads, 2, rows.shape[0] // heads // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def _architecture(base_gguf: Path) -> tuple[Any, int, tuple[int, int] | None]:
    """The base GGUF's architecture (gguf's MODEL_ARCH), its number of blocks and, for an architecture whose query
    and key rows the converter reorders (`PERMUTED`), its query and key/value head counts."""
    import gguf

    reader = gguf.GGUFReader(str(base_gguf))

    def field(key: str) -> Any:
        found = reader.fields.get(key)
        if found is None:
            raise ConfigError(f"{base_gguf} has no {key!r}: not a model GGUF llama.cpp can load")
        return found.contents()

    name = str(field("general.architecture"))
    arch = {value: key for key, value in gguf.MODEL_ARCH_NAMES.items()}.get(name)
    if arch is None:
        raise ConfigError(f"{base_gguf}: architecture {name!r} is unknown to the installed gguf package")
    heads = None
    if name in PERMUTED:
        query = int(field(f"{name}.attention.head_count"))
        kv = reader.fields.get(f"{name}.attention.head_count_kv")
        heads = (query, int(kv.contents()) if kv is not None else query)
    return arch, int(field(f"{name}.block_count")), heads
